using System.Runtime.InteropServices;
using TorchSharp;

namespace MultiLora.Benchmarks;

/// <summary>What the host did around libtorch over an interval, on the watched thread.</summary>
public readonly record struct OpCounts(long Allocations, long AllocatedBytes, long ItemReads, long HostArrayTensors, long Nonzero, long TensorHandles)
{
    public static OpCounts operator -(OpCounts a, OpCounts b) => new(a.Allocations - b.Allocations, a.AllocatedBytes - b.AllocatedBytes,
        a.ItemReads - b.ItemReads, a.HostArrayTensors - b.HostArrayTensors, a.Nonzero - b.Nonzero, a.TensorHandles - b.TensorHandles);
}

/// <summary>
/// Reads the counters of benchmarks/native/opcount.c (loaded with LD_PRELOAD) and TorchSharp's count of tensor
/// handles created on this thread. Without the shim only the handle count is real; the others read 0 and
/// <see cref="Available"/> is false.
/// </summary>
public sealed unsafe class OpCounter
{
    readonly delegate* unmanaged<long*, void> _read;
    readonly delegate* unmanaged<int, void> _watch;

    public bool Available { get; }

    public OpCounter()
    {
        var main = NativeLibrary.GetMainProgramHandle();
        if (NativeLibrary.TryGetExport(main, "opcount_read", out var read) && NativeLibrary.TryGetExport(main, "opcount_watch_this_thread", out var watch))
        {
            _read = (delegate* unmanaged<long*, void>)read;
            _watch = (delegate* unmanaged<int, void>)watch;
            Available = true;
        }
    }

    /// <summary>Counts the calling thread from now on (the shim counts only watched threads).</summary>
    public void WatchThisThread()
    {
        if (Available) _watch(1);
    }

    public OpCounts Read()
    {
        var stats = DisposeScopeManager.Statistics;
        long handles = stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount;
        if (!Available) return new OpCounts(0, 0, 0, 0, 0, handles);
        long* c = stackalloc long[5];
        _read(c);
        return new OpCounts(c[0], c[1], c[2], c[3], c[4], handles);
    }

    public const string Hint = "build and preload benchmarks/native/opcount.c for native counts: "
        + "gcc -shared -fPIC -O2 -Wl,-soname,libopcount.so -o /tmp/libopcount.so benchmarks/native/opcount.c -ldl; LD_PRELOAD=/tmp/libopcount.so dotnet ...";
}
