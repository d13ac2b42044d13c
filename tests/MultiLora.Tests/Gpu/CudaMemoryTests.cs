using MultiLora.Benchmarks.Anchor;
using MultiLora.Core.Diagnostics;
using static TorchSharp.torch;

namespace MultiLora.Tests.Gpu;

/// <summary>Peak device memory: the allocator's counters are read, and QLoRA on the 7B shape fits in 15 GiB. Skipped without CUDA.</summary>
[Collection(CudaCollection.Name)]
public sealed class CudaMemoryTests
{
    [CudaFact]
    public void AllocatorStats_HaveARouteOnThisLibtorch_AndSeeAnAllocation()
    {
        Assert.True(CudaAllocatorStats.Probe(), CudaAllocatorStats.Description);   // Probe checks a 32 MiB allocation moves the counters exactly
        CudaAllocatorStats.ResetPeak();
        long before = CudaAllocatorStats.Read()!.Value.AllocatedBytes;
        using (var t = empty(64L << 18, ScalarType.Float32, CUDA)) { }                 // 64 MiB
        var after = CudaAllocatorStats.Read()!.Value;
        Assert.True(after.PeakAllocatedBytes - before >= 64L << 20, $"peak {after.PeakAllocatedBytes} after {before}");
    }

    [CudaFact]
    public void Qlora_OnTheSevenBShape_TrainsWithinFifteenGiB()
    {
        Assert.True(CudaAllocatorStats.Probe(), CudaAllocatorStats.Description);
        var preset = AnchorPreset.Find("llava-7b-336-qlora128");
        using var meter = new PeakMeter(CUDA, useAllocatorStats: true);
        var row = AnchorTrainRun.Run(preset, CUDA, ScalarType.BFloat16, steps: 2, meter, peakTflops: null);
        Assert.True(row.PeakGib <= 15, $"QLoRA 7B batch 8 peaked at {row.PeakGib} GiB allocated");
        Assert.True(double.IsFinite(row.FinalLoss!.Value), $"loss {row.FinalLoss}");
    }
}
