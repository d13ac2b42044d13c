using MultiLora.Cli;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using MultiLora.Tests.Model;
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

    [Theory]
    [InlineData("nf4")]
    [InlineData("int8")]
    public void QuantizedCheckpoint_ShardedInTheHubLayout_LoadsToTheSameOutputs(string type)
    {
        // transformers shards a large bitsandbytes checkpoint, and llava-hf's older layout names the parts
        // language_model.model.* / vision_tower.vision_model.* / multi_modal_projector.* / language_model.lm_head.*
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string single = tmp.File("q"), sharded = tmp.File("q-hub-3");
        Assert.Equal(0, CliApp.Run(["quantize", "--model", Fixture.Path("model"), "--type", type, "--out", single]));
        Directory.CreateDirectory(sharded);
        foreach (var f in Directory.GetFiles(single).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(sharded, Path.GetFileName(f)));
        using (var file = SafetensorsFile.Open(Path.Combine(single, "model.safetensors")))
        {
            var tensors = file.Tensors.Keys.Order(StringComparer.Ordinal).Select(k => KeyValuePair.Create(ToHubLayout(k), file.Load(k))).ToList();
            Assert.Contains(tensors, t => t.Key.StartsWith("language_model.model.layers.0.self_attn.q_proj.weight", StringComparison.Ordinal));
            FixtureVariants.WriteShards(sharded, tensors, shards: 3);
        }

        using var expected = LlavaLoader.Load(single, new LoadOptions());
        using var loaded = LlavaLoader.Load(sharded, new LoadOptions());
        Assert.Equal(
            expected.named_modules().Where(m => m.module is Nf4Linear or Int8Linear).Select(m => m.name),
            loaded.named_modules().Where(m => m.module is Nf4Linear or Int8Linear).Select(m => m.name));
        using var _ = no_grad();
        var ids = Oracle.Load("input_ids");
        var pixels = Oracle.Load("pixel_values");
        Assert.True(loaded.Forward(ids, pixels).eq(expected.Forward(ids, pixels)).all().item<bool>(), "sharded hub-layout checkpoint differs from the single file");
    }

    [Fact]
    public void QuantizedCheckpoint_WithAKeyNoLayoutKnows_NamesTheShardAndTheKey()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string single = tmp.File("q"), sharded = tmp.File("q-2");
        Assert.Equal(0, CliApp.Run(["quantize", "--model", Fixture.Path("model"), "--type", "nf4", "--out", single]));
        Directory.CreateDirectory(sharded);
        File.Copy(Path.Combine(single, "config.json"), Path.Combine(sharded, "config.json"));
        using (var file = SafetensorsFile.Open(Path.Combine(single, "model.safetensors")))
        {
            var tensors = file.Tensors.Keys.Order(StringComparer.Ordinal).Select(k => KeyValuePair.Create(k, file.Load(k))).ToList();
            tensors.Add(KeyValuePair.Create("extra_head.weight", zeros(2, 2)));
            FixtureVariants.WriteShards(sharded, tensors, shards: 2);
        }
        var e = Assert.Throws<InvalidDataException>(() => LlavaLoader.Load(sharded, new LoadOptions()));
        Assert.Contains("extra_head.weight", e.Message);
        Assert.Contains("model-0000", e.Message);
    }

    static string ToHubLayout(string key)
    {
        foreach (var (current, hub) in new[] { ("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                     ("model.multi_modal_projector.", "multi_modal_projector."), ("lm_head.", "language_model.lm_head.") })
            if (key.StartsWith(current, StringComparison.Ordinal)) return hub + key[current.Length..];
        throw new InvalidOperationException($"unexpected key {key}");
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
