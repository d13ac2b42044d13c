using MultiLora.Core.Runtime;

namespace MultiLora.Tests.Core;

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
