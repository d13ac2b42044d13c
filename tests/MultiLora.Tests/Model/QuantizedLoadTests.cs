using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using MultiLora.Tests.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static MultiLora.Tests.Model.MetaLoadTests;

namespace MultiLora.Tests.Model;

/// <summary>
/// Quantize-on-load (LoadOptions.Quantize): the language model's linears go from the checkpoint to NF4/int8 one
/// at a time; the result must be the model that loading in full and then quantizing gives, bit for bit.
/// </summary>
public sealed class QuantizedLoadTests
{
    const string Language = "model.language_model.";

    static LlavaForConditionalGeneration LoadThenQuantize(string dir, QuantConfig quant)
    {
        var model = LlavaLoader.Load(dir, new LoadOptions());
        Quantizer.QuantizeLinears(model, Language, quant);
        return model;
    }

    [Theory]
    [InlineData(QuantType.Nf4)]
    [InlineData(QuantType.Int8)]
    public void QuantizeOnLoad_LogitsBitEqualToLoadThenQuantizeLinears(QuantType type)
    {
        var quant = new QuantConfig { Type = type };
        using var scope = NewDisposeScope();
        using var expected = LoadThenQuantize(Fixture.Path("model"), quant);
        using var loaded = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(Quantize: quant));
        AssertIdentical(Logits(expected), Logits(loaded), $"{type} quantize-on-load");
    }

    [Fact]
    public void QuantizeOnLoad_QuantizesEveryLanguageLinearAndNothingElse()
    {
        using var loaded = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(Quantize: QuantConfig.QLoRA));
        var quantized = ModuleSurgery.Find(loaded, (_, m) => m is IQuantizedLinear).Select(m => m.Path).ToList();
        Assert.Equal(14, quantized.Count);   // 2 layers x (q, k, v, o, gate, up, down)
        Assert.All(quantized, p => Assert.StartsWith(Language, p));
        Assert.Empty(ModuleSurgery.Find(loaded, (p, m) => m is Linear && p.StartsWith(Language, StringComparison.Ordinal)));
        Assert.IsType<Linear>(loaded.lm_head);
    }

    [Theory]
    [InlineData(Layout.Hub, 1)]
    [InlineData(Layout.Current, 1)]
    [InlineData(Layout.Hub, 3)]
    [InlineData(Layout.Current, 4)]
    public void QuantizeOnLoad_AnyKeyLayoutAndSharding_BitEqualToLoadThenQuantize(Layout layout, int shards)
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, layout, shards);
        using var expected = LoadThenQuantize(dir, QuantConfig.QLoRA);
        using var loaded = LlavaLoader.Load(dir, new LoadOptions(Quantize: QuantConfig.QLoRA));
        AssertIdentical(Logits(expected), Logits(loaded), $"{layout} x{shards}");
    }

    [Fact]
    public void QuantizeOnLoad_Bf16StoredCheckpoint_BitEqualToLoadThenQuantize()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Hub, 2, ScalarType.BFloat16);
        using var expected = LoadThenQuantize(dir, QuantConfig.QLoRA);
        using var loaded = LlavaLoader.Load(dir, new LoadOptions(Quantize: QuantConfig.QLoRA));
        AssertIdentical(Logits(expected), Logits(loaded), "bf16-stored, float32 run");
    }

    [Theory]
    [InlineData(Layout.Hub, 1, "language_model.model.layers.1.mlp.down_proj.weight", "model.safetensors")]
    [InlineData(Layout.Current, 3, "model.language_model.layers.1.mlp.down_proj.weight", "model.safetensors.index.json")]
    public void QuantizeOnLoad_MissingLinearWeight_NamesFileAndKey(Layout layout, int shards, string key, string file)
    {
        using var tmp = Fixture.Temp();
        string dir = FixtureVariants.Write(tmp.Path, layout, shards, drop: k => k == key);
        var e = Assert.Throws<InvalidDataException>(() => LlavaLoader.Load(dir, new LoadOptions(Quantize: QuantConfig.QLoRA)));
        Assert.Contains(Path.Combine(dir, file) + ":", e.Message);
        Assert.Contains($"'{key}'", e.Message);
    }

    [Fact]
    public void QuantizeOnLoad_Composition_BitEqualToComposeThenQuantize()
    {
        var sources = new CompositionSources(Fixture.Path("parts", "clip-vision"), Fixture.Path("parts", "llama"), Fixture.Path("model"));
        using var scope = NewDisposeScope();
        using var expected = LlavaLoader.Compose(sources, imageTokenId: 400, new LoadOptions());
        Quantizer.QuantizeLinears(expected, Language, QuantConfig.QLoRA);
        using var loaded = LlavaLoader.Compose(sources, imageTokenId: 400, new LoadOptions(Quantize: QuantConfig.QLoRA));
        AssertIdentical(Logits(expected), Logits(loaded), "composition");
    }

    [Fact]
    public void QloraSetup_OnAQuantizeOnLoadModel_MatchesSetupOnTheFullModel()
    {
        var recipe = new TrainRecipe { Method = "qlora", Lora = new LoraSection { Rank = 8 } };
        using var scope = NewDisposeScope();
        using var full = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        var fromFull = TrainingSetup.Apply(full, recipe);
        using var quantized = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(Quantize: TrainingSetup.Quantization(recipe)));
        var fromQuantized = TrainingSetup.Apply(quantized, recipe);
        Assert.Equal(fromFull.All.Select(p => p.Name), fromQuantized.All.Select(p => p.Name));
        Assert.Equal(fromFull.Count, fromQuantized.Count);
        // LoRA's B starts at zero: both are their quantized base, which must be the same
        AssertIdentical(Logits(full), Logits(quantized), "qlora base");
    }
}
