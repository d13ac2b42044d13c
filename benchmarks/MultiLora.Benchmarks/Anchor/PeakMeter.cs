using MultiLora.Core.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// Peak memory of one preset, every way this machine can measure it: on CUDA the caching allocator's peak of
/// allocated bytes (torch.cuda.max_memory_allocated, what HF's figures are) when <see cref="CudaAllocatorStats"/> has
/// a route, and the driver's used-memory peak (NVML, sampled; hf_anchor.py samples it the same way); on a CPU the
/// process's resident peak.
/// </summary>
public sealed class PeakMeter : IDisposable
{
    readonly Device _device;
    readonly bool _allocator;
    readonly NvmlMemoryPoller? _nvml;

    public string Description { get; }

    public PeakMeter(Device device, bool useAllocatorStats)
    {
        _device = device;
        if (device.type != DeviceType.CUDA) { Description = "process resident set (VmHWM window)"; return; }
        _allocator = useAllocatorStats && CudaAllocatorStats.Probe(DeviceIndex);
        _nvml = NvmlMemoryPoller.TryStart(DeviceIndex, out string nvmlWhy);
        Description = $"allocator: {(_allocator ? CudaAllocatorStats.Description : useAllocatorStats ? CudaAllocatorStats.Description : "not used (--memory nvml)")}; "
            + $"nvml: {(_nvml is null ? nvmlWhy : $"device used, sampled every {NvmlMemoryPoller.IntervalMs} ms")}";
    }

    int DeviceIndex => Math.Max(0, (int)_device.index);

    public void Reset()
    {
        if (_allocator) CudaAllocatorStats.ResetPeak(DeviceIndex);
        _nvml?.ResetPeak();
        if (_device.type != DeviceType.CUDA) MemoryProbe.StartWindow();
    }

    /// <summary>Allocator peak (null without a route), device-used peak (null without NVML), resident peak (CPU).</summary>
    public (long? Allocated, long? DeviceUsed, long? Resident) Peak() =>
        (_allocator ? CudaAllocatorStats.Read(DeviceIndex)?.PeakAllocatedBytes : null,
         _nvml?.PeakBytes,
         _device.type == DeviceType.CUDA ? null : MemoryProbe.WindowPeakBytes());

    public void Dispose() => _nvml?.Dispose();
}
