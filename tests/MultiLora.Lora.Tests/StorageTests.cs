using MultiLora.Lora.Quantization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MultiLora.Lora.Tests;

public sealed class StorageTests(ITestOutputHelper output) : TorchTest
{
    /// <summary>
    /// A 100.7M-parameter stack (6 x 4096x4096, a Llama-7B attention shape) quantized layer by layer:
    /// every stored byte (packed codes, 8-bit absmax, float32 nested absmax and offset) is counted.
    /// </summary>
    [Fact]
    public void Nf4DoubleQuant_StoresAtMost4Point13BitsPerParameter_On100MParameters()
    {
        const int layers = 6, dim = 4096;
        long parameters = 0, bytes = 0;
        var gen = new Generator(7);
        for (int i = 0; i < layers; i++)
        {
            var w = empty(dim, dim).uniform_(-0.05, 0.05, gen);
            using var layer = (Nf4Linear)Quantizer.FromWeight(w, null, QuantConfig.QLoRA); // disposes w
            Assert.True(w.IsInvalid);
            parameters += layer.InFeatures * layer.OutFeatures;
            bytes += layer.buffers().Sum(b => b.numel() * b.ElementSize);
            Assert.Equal(layer.StorageBytes, layer.buffers().Sum(b => b.numel() * b.ElementSize));
        }
        double bits = 8.0 * bytes / parameters;
        output.WriteLine($"{parameters:N0} parameters in {bytes:N0} bytes: {bits:F5} bits/parameter");
        Assert.True(parameters >= 100_000_000);
        Assert.True(bits <= 4.13, $"{bits} bits/parameter");
        Assert.Equal(4 + 8.0 / 64 + 32.0 / (64 * 256), bits, 3);
    }

    [Fact]
    public void Nf4WithoutDoubleQuant_Stores4Point5BitsPerParameter()
    {
        using var w = randn(128, 256);
        using var layer = Nf4Linear.FromWeight(w, doubleQuant: false);
        Assert.Equal(4.5, 8.0 * layer.StorageBytes / (128 * 256), 6);
    }
}
