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
        foreach (var t in freed) t.Dispose();
        long before = MemoryProbe.ResidentBytes();
        Assert.True(NativeHeap.Release());
        long after = MemoryProbe.ResidentBytes();
        Assert.True(before - after >= 256 * MiB, $"resident {before / MiB} MiB before the release, {after / MiB} MiB after: expected at least 256 MiB of the 384 MiB freed back");
    }
}

public sealed class HeapReleasePolicyTests
{
    const long MiB = 1 << 20;

    [Fact]
    public void Auto_ReleasesOnlyWhenResidentOutgrowsTheMeasuredNeedByAQuarter()
    {
        int calls = 0;
        var policy = new HeapReleasePolicy(HeapRelease.Auto, () => { calls++; return true; });
        policy.Start();                                 // a clean heap before step 1
        Assert.Equal(1, calls);
        Assert.False(policy.AfterStep(1000 * MiB));     // step 1 started clean: what it left resident is the need
        Assert.Equal(1000 * MiB, policy.NeedBytes);
        Assert.False(policy.AfterStep(1250 * MiB));     // within 1.25 x need, and not a measuring step
        Assert.Equal(1000 * MiB, policy.NeedBytes);
        Assert.True(policy.AfterStep(1251 * MiB));      // outgrown: release
        Assert.Equal(2, calls);
        Assert.False(policy.AfterStep(1100 * MiB));     // started clean again: need = max(1000, 1100)
        Assert.Equal(1100 * MiB, policy.NeedBytes);
        Assert.False(policy.AfterStep(1375 * MiB));
        Assert.Equal(2, policy.Releases);
    }

    [Theory]
    [InlineData(HeapRelease.Step, 4)]
    [InlineData(HeapRelease.Never, 0)]
    public void StepAndNever_ReleaseEveryStepOrNot(HeapRelease mode, int expected)
    {
        int calls = 0;
        var policy = new HeapReleasePolicy(mode, () => { calls++; return true; });
        policy.Start();
        for (int i = 0; i < 3; i++) policy.AfterStep(10 * MiB);
        Assert.Equal(expected, calls);
    }

    [Fact]
    public void WithoutAReleasingAllocator_NothingIsMeasuredAndEveryStepTriesAgain()
    {
        // not glibc: Release is a no-op, so the need is never measured and Auto keeps asking (cheaply)
        int calls = 0;
        var policy = new HeapReleasePolicy(HeapRelease.Auto, () => { calls++; return false; });
        policy.Start();
        policy.AfterStep(10 * MiB);
        policy.AfterStep(10 * MiB);
        Assert.Equal(3, calls);
        Assert.Equal(0, policy.NeedBytes);
        Assert.Equal(0, policy.Releases);
    }
}
