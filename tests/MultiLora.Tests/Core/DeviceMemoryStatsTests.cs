using MultiLora.Core.Diagnostics;
using MultiLora.Core.Runtime;

namespace MultiLora.Tests.Core;

/// <summary>The CUDA allocator statistics route: what can be checked without a GPU.</summary>
public sealed class DeviceMemoryStatsTests
{
    [Fact]
    public void VTableDiscovery_FindsTheStatisticsSlotsInThisLibtorchsDeviceAllocator()
    {
        // libtorch 2.10: c10::Allocator contributes 6 slots (two destructors, allocate, is_simple_data_ptr,
        // raw_deleter, copy_data); DeviceAllocator adds initialized, emptyCache, recordStream, getDeviceStats (9),
        // resetAccumulatedStats, resetPeakStats (11), getMemoryInfo.
        var slots = DeviceAllocatorVTable.Discover(out string why);
        Assert.True(slots is not null, why);
        Assert.Equal(new DeviceAllocatorVTable.Slots(9, 11), slots);
    }

    [Fact]
    public void VTableRule_EndsAtTheLastOfTheFirstLongRunOfEqualEntries()
    {
        IntPtr P(long v) => new(v);
        var pure = P(0x7000);
        // a lone pure entry (allocate) at 2, the run copy_data..resetPeakStats at 5..11, a non-pure addition at 12
        IntPtr[] entries = [P(1), P(2), pure, P(3), P(4), pure, pure, pure, pure, pure, pure, pure, P(5), P(0), P(0)];
        Assert.Equal(new DeviceAllocatorVTable.Slots(9, 11), DeviceAllocatorVTable.FromEntries(entries, out _));
        Assert.Null(DeviceAllocatorVTable.FromEntries([P(1), pure, pure, P(2), pure, pure, pure, P(3)], out string why));
        Assert.Contains("no run", why);
    }

    [Fact]
    public void AllocatorStats_OnACpuOnlyLibtorch_ReportUnavailableWithoutThrowing()
    {
        if (TorchRuntime.CudaAvailable()) return;   // covered by the CUDA tests where a GPU exists
        Assert.False(CudaAllocatorStats.Probe());
        Assert.Null(CudaAllocatorStats.Read());
        Assert.False(CudaAllocatorStats.ResetPeak());
        Assert.Contains("CUDA is not available", CudaAllocatorStats.Description);
    }

    [Fact]
    public void NvmlPoller_WithoutTheDriverLibrary_SaysWhy()
    {
        using var poller = NvmlMemoryPoller.TryStart(0, out string why);
        if (poller is not null)
        {
            Assert.True(poller.PeakBytes >= poller.UsedBytes() - (64L << 20) && poller.TotalBytes > 0);
            return;
        }
        Assert.False(string.IsNullOrEmpty(why));
    }
}
