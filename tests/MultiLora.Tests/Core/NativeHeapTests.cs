using MultiLora.Core.Diagnostics;
using MultiLora.Core.Runtime;
using MultiLora.Tests.Cli;
using static TorchSharp.torch;

namespace MultiLora.Tests.Core;

/// <summary>In the non-parallel collection: it reads the process's resident size, which other tests would move.</summary>
[Collection(CliCollection.Name)]
public sealed class NativeHeapTests
{
    const long MiB = 1 << 20;

    [Fact]
    public void Release_GivesFreedTensorMemoryBackToTheKernel()
    {
        Assert.True(NativeHeap.Release(), "malloc_trim should be available on this Linux/glibc machine");
        // As in training: a large free raises glibc's mmap threshold, so the next tensors come from the heap,
        // and a live tensor after them keeps the freed ones from being trimmed off the heap's top.
        ones(4 * MiB).Dispose();                                   // 16 MiB: threshold -> 16 MiB
        var freed = Enumerable.Range(0, 48).Select(_ => ones(2 * MiB)).ToList();   // 48 x 8 MiB, touched
        using var pin = ones(1024);
        long peak = MemoryProbe.ResidentBytes();
        foreach (var t in freed) t.Dispose();
        long before = MemoryProbe.ResidentBytes();
        Assert.True(NativeHeap.Release());
        long after = MemoryProbe.ResidentBytes();
        // Measured from the peak: when the test thread's allocations land in one of glibc's secondary arenas
        // (likely in a long test process with many threads), free() already unmaps whole arena heaps, so part of
        // the memory is back before the release; either way the 384 MiB must be back after it.
        Assert.True(peak - after >= 256 * MiB, $"resident {peak / MiB} MiB with the tensors, {before / MiB} MiB after freeing them, {after / MiB} MiB after the release: expected at least 256 MiB of the 384 MiB back");
    }
}
