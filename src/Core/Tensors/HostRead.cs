using static TorchSharp.torch;

namespace MultiLora.Core.Tensors;

/// <summary>
/// Deliberate device-to-host reads (on a GPU each waits for the device's queue to drain: a synchronisation), in
/// one place so they can be counted: benchmarks/ host-work reports reads per step and per token.
/// </summary>
public static class HostRead
{
    static long _count;
    [ThreadStatic] static long _threadCount;

    /// <summary>Reads made so far in this process.</summary>
    public static long Count => Interlocked.Read(ref _count);

    /// <summary>Reads made so far on the calling thread (a training loop's own, whatever else the process runs).</summary>
    public static long ThreadCount => _threadCount;

    /// <summary>The values of a float tensor of any shape, as float64, in one transfer.</summary>
    public static double[] Doubles(Tensor t)
    {
        Interlocked.Increment(ref _count);
        _threadCount++;
        using var scope = NewDisposeScope();
        return t.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
    }
}
