using MultiLora.Benchmarks.Parity;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Gpu;

/// <summary>
/// The fixture parity checks on a CUDA device (<see cref="FixtureParity"/>): float32 with TF32 off within the CPU
/// tests' 1e-4, bf16 within the CPU bf16 tolerance. Skipped without CUDA. On a GPU machine without the .NET SDK the
/// same checks run as `MultiLora.Benchmarks parity --device cuda` (benchmarks/gpu/run-comparison.sh does).
/// </summary>
[Collection(CudaCollection.Name)]
public sealed class CudaParityTests
{
    [CudaFact]
    public void Float32_FeaturesLogitsGenerationAndLora_MatchTransformersAndPeft()
    {
        var checks = FixtureParity.Run(Fixture.Root, CUDA, ScalarType.Float32);
        Assert.Equal(9, checks.Count);
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
    }

    [CudaFact]
    public void Bfloat16_Logits_StayWithinTheCpuBf16Tolerance()
    {
        var checks = FixtureParity.Run(Fixture.Root, CUDA, ScalarType.BFloat16);
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
    }
}

/// <summary>CUDA tests share one device: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaCollection
{
    public const string Name = "cuda";
}
