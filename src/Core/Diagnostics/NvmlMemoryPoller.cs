using System.Runtime.InteropServices;

namespace MultiLora.Core.Diagnostics;

/// <summary>
/// The device's used memory as the driver reports it (NVML nvmlDeviceGetMemoryInfo: every process's allocations,
/// the CUDA context and the caching allocator's reserve), sampled on a background thread, keeping the peak.
/// The second, allocator-independent measure: benchmarks/gpu/hf_anchor.py samples it the same way (same library,
/// same call, same interval), so its peak compares across frameworks where <see cref="CudaAllocatorStats"/> has no route.
/// A peak shorter than the interval can be missed; the allocator's counters have no such gap.
/// </summary>
public sealed unsafe class NvmlMemoryPoller : IDisposable
{
    public const int IntervalMs = 1;

    [StructLayout(LayoutKind.Sequential)]
    struct NvmlMemory { public ulong Total, Free, Used; }

    readonly IntPtr _device;
    readonly delegate* unmanaged<IntPtr, NvmlMemory*, int> _memoryInfo;
    readonly delegate* unmanaged<int> _shutdown;
    readonly Thread _thread;
    volatile bool _stop;
    long _peak;

    public long TotalBytes { get; }

    NvmlMemoryPoller(IntPtr device, delegate* unmanaged<IntPtr, NvmlMemory*, int> memoryInfo, delegate* unmanaged<int> shutdown, long total)
    {
        _device = device; _memoryInfo = memoryInfo; _shutdown = shutdown; TotalBytes = total;
        _peak = UsedBytes();
        _thread = new Thread(Poll) { IsBackground = true, Name = "nvml-memory-poller" };
        _thread.Start();
    }

    /// <summary>Starts polling device <paramref name="index"/>, or returns null with the reason (no driver library, no device).</summary>
    public static NvmlMemoryPoller? TryStart(int index, out string why)
    {
        if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out var lib)) { why = "libnvidia-ml.so.1 not found (no NVIDIA driver)"; return null; }
        if (!NativeLibrary.TryGetExport(lib, "nvmlInit_v2", out var init) || !NativeLibrary.TryGetExport(lib, "nvmlDeviceGetHandleByIndex_v2", out var byIndex)
            || !NativeLibrary.TryGetExport(lib, "nvmlDeviceGetMemoryInfo", out var info) || !NativeLibrary.TryGetExport(lib, "nvmlShutdown", out var shutdown))
        {
            why = "libnvidia-ml.so.1 lacks nvmlInit_v2 / nvmlDeviceGetHandleByIndex_v2 / nvmlDeviceGetMemoryInfo";
            return null;
        }
        int rc = ((delegate* unmanaged<int>)init)();
        if (rc != 0) { why = $"nvmlInit_v2 returned {rc}"; return null; }
        IntPtr device;
        rc = ((delegate* unmanaged<uint, IntPtr*, int>)byIndex)((uint)index, &device);
        if (rc != 0) { ((delegate* unmanaged<int>)shutdown)(); why = $"nvmlDeviceGetHandleByIndex_v2({index}) returned {rc}"; return null; }
        NvmlMemory m;
        rc = ((delegate* unmanaged<IntPtr, NvmlMemory*, int>)info)(device, &m);
        if (rc != 0) { ((delegate* unmanaged<int>)shutdown)(); why = $"nvmlDeviceGetMemoryInfo returned {rc}"; return null; }
        why = "";
        return new NvmlMemoryPoller(device, (delegate* unmanaged<IntPtr, NvmlMemory*, int>)info, (delegate* unmanaged<int>)shutdown, (long)m.Total);
    }

    /// <summary>Used bytes on the device now.</summary>
    public long UsedBytes()
    {
        NvmlMemory m;
        return _memoryInfo(_device, &m) == 0 ? (long)m.Used : 0;
    }

    /// <summary>The largest used bytes seen since start or the last <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Math.Max(Interlocked.Read(ref _peak), UsedBytes());

    public void ResetPeak() => Interlocked.Exchange(ref _peak, UsedBytes());

    void Poll()
    {
        while (!_stop)
        {
            long used = UsedBytes();
            long seen;
            while (used > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, used, seen) != seen) { }
            Thread.Sleep(IntervalMs);
        }
    }

    public void Dispose()
    {
        if (_stop) return;
        _stop = true;
        _thread.Join();
        _shutdown();
    }
}
