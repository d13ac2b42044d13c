using MultiLora.Core.Runtime;
using MultiLora.Core.Tensors;
using MultiLora.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Tests.Distributed;

public sealed class GradientBucketsTests
{
    public GradientBucketsTests() => TorchRuntime.EnsureLoaded();

    static Tensor Param(long elements, ScalarType dtype = ScalarType.Float32) => zeros(elements, dtype).requires_grad_(true);

    [Fact]
    public void Buckets_FollowReverseOrder_StayUnderTheCap_AndNeverMixDtypes()
    {
        // 4-byte floats: 100 elements = 400 bytes; cap 1000 bytes
        var ps = new[] { Param(100), Param(100), Param(200, ScalarType.BFloat16), Param(100), Param(300) };
        var buckets = new GradientBuckets(ps, new SingleProcessCollectives(), bucketBytes: 1000).Buckets;
        Assert.Equal([[4], [3, 1], [0], [2]], buckets.Select(b => b.ToList()));
    }

    [Fact]
    public void AParameterLargerThanTheCap_GetsABucketOfItsOwn()
    {
        var ps = new[] { Param(10), Param(1000), Param(10) };
        Assert.Equal([[2], [1], [0]], new GradientBuckets(ps, new SingleProcessCollectives(), bucketBytes: 100).Buckets.Select(b => b.ToList()));
    }

    [Fact]
    public void TwoRanks_EndWithTheSumOfTheirGradients_AndAbsentEverywhereStaysAbsent()
    {
        var results = new InProcessGroup(2).Run(c =>
        {
            // p0: both ranks have a gradient; p1: only rank 1; p2: nobody (no sample reached it); p3: bf16
            var ps = new[] { Param(5), Param(3), Param(4), Param(6, ScalarType.BFloat16) };
            ps[0].grad = Ranges.Arange(0, 5, ScalarType.Float32).mul(Scalars.Of(c.Rank + 1));
            if (c.Rank == 1) ps[1].grad = ones(3).mul(Scalars.Of(7.0));
            ps[3].grad = ones(6, ScalarType.BFloat16).mul(Scalars.Of(c.Rank + 2));
            var reduction = new GradientBuckets(ps, c, bucketBytes: 16).AllReduce();
            return (Grads: ps.Select(p => p.grad?.to(ScalarType.Float32).data<float>().ToArray()).ToArray(), reduction);
        });
        foreach (var (grads, reduction) in results)
        {
            Assert.Equal([0f, 3, 6, 9, 12], grads[0]!);
            Assert.Equal([7f, 7, 7], grads[1]!);
            Assert.Null(grads[2]);
            Assert.Equal(Enumerable.Repeat(5f, 6), grads[3]);
            // flags 4 x 8 bytes + p0 20 + p1 12 + p3 12 (p2's bucket skipped: nobody has its gradient)
            Assert.Equal(32 + 20 + 12 + 12, reduction.Bytes);
        }
    }

    [Fact]
    public void OneProcess_MovesNothing()
    {
        var p = Param(4);
        p.grad = ones(4);
        Assert.Equal(default, new GradientBuckets([p], new SingleProcessCollectives()).AllReduce());
        Assert.Equal([1f, 1, 1, 1], p.grad!.data<float>().ToArray());
    }
}
