using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Distributed;

/// <summary>One check of <see cref="CollectiveSelfTest"/>: what it did and, when it failed, how.</summary>
public sealed record CollectiveCheck(string Name, bool Passed, string Detail);

/// <summary>
/// Runs every collective once with values whose result each rank can predict exactly (small integers, exact in
/// every dtype used), on <paramref name="device"/>: `multilora distributed check` under a launcher, and the tests.
/// </summary>
public static class CollectiveSelfTest
{
    public static IReadOnlyList<CollectiveCheck> Run(ICollectives c, Device device)
    {
        int rank = c.Rank, world = c.WorldSize;
        double rankSum = world * (world + 1) / 2.0;   // sum over ranks of (rank + 1)
        var checks = new List<CollectiveCheck>();

        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.BFloat16, ScalarType.Int64 })
            checks.Add(Check($"all-reduce {dtype.ToString().ToLowerInvariant()}", () =>
            {
                // element i of rank r is (i + 1) * (r + 1), in dtype; the sum is exact in float32, rounded once to dtype
                Tensor Part(int r) => Ranges.Arange(1, 101, ScalarType.Float64, device).mul(Scalars.Of(r + 1)).to(dtype);
                var t = Part(rank);
                c.AllReduceSum(t);
                var expected = zeros(100, ScalarType.Float64, device);
                for (int r = 0; r < world; r++) expected = expected.Plus(Part(r).to(ScalarType.Float64));
                return Compare(t, expected);
            }));

        checks.Add(Check("all-reduce of a transposed (non-contiguous) view", () =>
        {
            var matrix = Ranges.Arange(0, 12, ScalarType.Float32, device).reshape(3, 4).mul(Scalars.Of(rank + 1));
            c.AllReduceSum(matrix.t());
            return Compare(matrix, Ranges.Arange(0, 12, ScalarType.Float64, device).reshape(3, 4).mul(Scalars.Of(rankSum)));
        }));

        int root = world - 1;
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16, ScalarType.Int64 })
            checks.Add(Check($"broadcast {dtype.ToString().ToLowerInvariant()} from rank {root}", () =>
            {
                var t = Ranges.Arange(0, 50, ScalarType.Float64, device).add(Scalars.Of(1000.0 * rank), Scalars.One).to(dtype);
                c.Broadcast(t, root);
                return Compare(t, Ranges.Arange(0, 50, ScalarType.Float64, device).add(Scalars.Of(1000.0 * root), Scalars.One));
            }));

        checks.Add(Check("all-gather of small values", () =>
        {
            var longs = c.AllGather([rank, 10L * rank + 1]);
            var doubles = c.AllGather([rank + 0.5]);
            var expectedLongs = Enumerable.Range(0, world).SelectMany(r => new[] { (long)r, 10L * r + 1 }).ToArray();
            var expectedDoubles = Enumerable.Range(0, world).Select(r => r + 0.5).ToArray();
            return longs.SequenceEqual(expectedLongs) && doubles.SequenceEqual(expectedDoubles)
                ? null
                : $"got [{string.Join(", ", longs)}] and [{string.Join(", ", doubles)}]";
        }));

        checks.Add(Check("barrier", () =>
        {
            c.Barrier();
            return null;
        }));
        return checks;
    }

    static CollectiveCheck Check(string name, Func<string?> body)
    {
        using var scope = NewDisposeScope();
        try
        {
            var problem = body();
            return new CollectiveCheck(name, problem is null, problem ?? "ok");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CollectiveCheck(name, false, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Exact comparison after rounding the (float64) expectation to the tensor's dtype.</summary>
    static string? Compare(Tensor actual, Tensor expected)
    {
        var rounded = expected.to(actual.dtype).to(ScalarType.Float64);
        double diff = actual.to(ScalarType.Float64).PlusScaled(rounded, -1.0).abs().max().item<double>();
        return diff == 0 ? null : $"max |difference| {diff} from the expected values";
    }
}
