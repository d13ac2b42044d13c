using MultiLora.Benchmarks.Parity;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Benchmarks;

/// <summary>The device-independent parity checks pass on the CPU, so on a GPU a failure is the device's.</summary>
public sealed class FixtureParityTests
{
    [Fact]
    public void OnCpu_EveryFloat32AndBf16CheckPasses()
    {
        var checks = FixtureParity.Run(Fixture.Root, CPU, ScalarType.Float32).Concat(FixtureParity.Run(Fixture.Root, CPU, ScalarType.BFloat16)).ToList();
        Assert.Equal(11, checks.Count);   // 9 float32 checks, 2 bf16
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
    }

    [Fact]
    public void Check_ComparesInTheStatedDirection()
    {
        Assert.True(new ParityCheck("x", "max |diff|", 5e-5, 1e-4).Passed);
        Assert.False(new ParityCheck("x", "max |diff|", 2e-4, 1e-4).Passed);
        Assert.True(new ParityCheck("x", "agreement", 0.95, 0.9, AtLeast: true).Passed);
        Assert.False(new ParityCheck("x", "agreement", 0.85, 0.9, AtLeast: true).Passed);
    }
}
