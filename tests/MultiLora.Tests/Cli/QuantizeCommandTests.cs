using MultiLora.Cli;
using MultiLora.Llava.Checkpoints;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Cli;

[Collection(CliCollection.Name)]
public sealed class QuantizeCommandTests
{
    [Theory]
    [InlineData("nf4", QuantType.Nf4)]
    [InlineData("int8", QuantType.Int8)]
    public void QuantizedCheckpoint_LoadsBackToIdenticalOutputs(string type, QuantType quantType)
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        Assert.Equal(0, CliApp.Run(["quantize", "--model", Fixture.Path("model"), "--type", type, "--out", tmp.File("q")]));

        using var inMemory = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        Quantizer.QuantizeLinears(inMemory, "model.language_model.", new QuantConfig { Type = quantType });
        using var loaded = LlavaLoader.Load(tmp.File("q"), new LoadOptions());
        using var _ = no_grad();
        var expected = inMemory.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));
        var actual = loaded.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));
        Assert.True(actual.eq(expected).all().item<bool>(), "reloaded quantized model differs from the one quantized in memory");

        // and the quantization error against the float32 model stays bounded. The fixture is tiny and random (48-wide
        // rows, so every NF4 block of 64 spans rows): measured relative error of the logits 0.35 for nf4, under 0.05 for int8.
        double rel = Oracle.RelativeError(actual, Oracle.Load("logits"));
        Assert.True(rel < (quantType == QuantType.Nf4 ? 0.5 : 0.05), $"{type}: relative error {rel:E2} against float32");
    }

    [Fact]
    public void StoredNf4Checkpoint_AskedToLoadAsInt8_IsRefusedNamingTheConfig()
    {
        using var tmp = Fixture.Temp();
        Assert.Equal(0, CliApp.Run(["quantize", "--model", Fixture.Path("model"), "--type", "nf4", "--out", tmp.File("q")]));
        var e = Assert.Throws<InvalidDataException>(() => LlavaLoader.Load(tmp.File("q"), new LoadOptions(Quantize: new QuantConfig { Type = QuantType.Int8 })));
        Assert.Contains(Path.Combine(tmp.File("q"), "config.json"), e.Message);
        Assert.Contains("stored nf4", e.Message);
        // the type it is stored in is fine
        using var same = LlavaLoader.Load(tmp.File("q"), new LoadOptions(Quantize: QuantConfig.QLoRA));
    }
}
