using static TorchSharp.torch;

namespace MultiLora.Distributed;

/// <summary>World size 1: every collective is the identity, so one process runs the same code path as N.</summary>
public sealed class SingleProcessCollectives : ICollectives
{
    public int Rank => 0;
    public int WorldSize => 1;
    public string Description => "none (one process)";
    public long BytesAllReduced { get; private set; }

    public void AllReduceSum(Tensor tensor) => BytesAllReduced += tensor.NumberOfElements * tensor.ElementSize;
    public void Broadcast(Tensor tensor, int root = 0) => RequireRoot(root);
    public void Barrier() { }
    public long[] AllGather(ReadOnlySpan<long> values) => values.ToArray();
    public double[] AllGather(ReadOnlySpan<double> values) => values.ToArray();
    public void Fail(string reason) { }
    public void Dispose() { }

    static void RequireRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "a single process has only rank 0");
    }
}
