using System.Text.Json.Nodes;
using MultiLora.Core.Safetensors;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Lora.Surgery;
using MultiLora.Tests.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Lora.Tests;

public sealed class PeftAdapterTests : TorchTest
{
    static string FixtureAdapter => Fixture.Path("adapter");

    [Fact]
    public void SaveThenLoad_GivesIdenticalTensorsAndKeepsTheConfig()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        var cfg = new LoraConfig
        {
            R = 4, Alpha = 16, Dropout = 0.05, UseRsLora = true,
            TargetModules = TargetModules.FromNames("q_proj", "v_proj", "down_proj"),
            ModulesToSave = ["multi_modal_projector"],
        };
        LoraInjector.Apply(tree, cfg);
        foreach (var (_, m) in LoraInjector.LoraModules(tree))
            using (no_grad()) m.LoraB("default").weight.normal_(0, 0.1);
        PeftAdapter.Save(dir.Path, tree, cfg, baseModelNameOrPath: "llava-hf/llava-1.5-7b-hf", taskType: "CAUSAL_LM");

        using (var st = SafetensorsFile.Open(dir.File(PeftAdapter.WeightsFile)))
        {
            Assert.Contains("base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight", st.Tensors.Keys);
            Assert.Contains("base_model.model.model.language_model.layers.1.mlp.down_proj.lora_B.weight", st.Tensors.Keys);
            Assert.Contains("base_model.model.model.multi_modal_projector.linear_1.weight", st.Tensors.Keys);
            Assert.Equal(6 * 2 + 4, st.Tensors.Count);
            Assert.Equal("pt", st.Metadata["format"]);
        }
        var json = JsonNode.Parse(File.ReadAllText(dir.File("adapter_config.json")))!;
        Assert.Equal("LORA", json["peft_type"]!.GetValue<string>());
        Assert.Equal(16, json["lora_alpha"]!.GetValue<int>());
        Assert.Equal("llava-hf/llava-1.5-7b-hf", json["base_model_name_or_path"]!.GetValue<string>());
        Assert.False(json["fan_in_fan_out"]!.GetValue<bool>());
        Assert.True(json["init_lora_weights"]!.GetValue<bool>());

        using var fresh = new TinyLlava();
        var loaded = PeftAdapter.Load(dir.Path, fresh);
        Assert.Equal(6, loaded.LoraModulePaths.Count);
        Assert.Equal(["model.multi_modal_projector.linear_1", "model.multi_modal_projector.linear_2"], loaded.ModulesToSavePaths.Order());
        Assert.Equal(cfg.R, loaded.Config.R);
        Assert.Equal(cfg.Alpha, loaded.Config.Alpha);
        Assert.Equal(cfg.Dropout, loaded.Config.Dropout);
        Assert.True(loaded.Config.UseRsLora);
        Assert.Equal(["q_proj", "v_proj", "down_proj"], loaded.Config.TargetModules.Names!);
        Assert.Equal(["multi_modal_projector"], loaded.Config.ModulesToSave);
        Assert.Equal("llava-hf/llava-1.5-7b-hf", loaded.BaseModelNameOrPath);

        var saved = tree.state_dict();
        foreach (var (key, t) in fresh.state_dict())
            if (key.Contains(".lora_", StringComparison.Ordinal) || key.StartsWith("model.multi_modal_projector.", StringComparison.Ordinal))
                Assert.True(TensorAssert.Identical(t, saved[key]), key);
    }

    [Fact]
    public void FixtureAdapter_LoadsOntoATreeWithTheFixtureShapes()
    {
        using var tree = new TinyLlava(hidden: 48, qOut: 4 * 12, kvOut: 2 * 12, intermediate: 96, layers: 2);
        var loaded = PeftAdapter.Load(FixtureAdapter, tree);
        Assert.Equal(14, loaded.LoraModulePaths.Count);
        Assert.Equal(4, loaded.Config.R);
        Assert.Equal(8, loaded.Config.Alpha);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.model.vision_tower.vision_model.encoder.layers[0].q_proj);

        using var st = SafetensorsFile.Open(Path.Combine(FixtureAdapter, PeftAdapter.WeightsFile));
        foreach (var (key, _) in st.Tensors)
        {
            // base_model.model.model.language_model.layers.0.mlp.down_proj.lora_A.weight
            string rest = key["base_model.model.".Length..];
            string modulePath = rest[..rest.LastIndexOf(".lora_", StringComparison.Ordinal)];
            var lora = Assert.IsType<LoraLinear>(ModuleSurgery.Get(tree, modulePath));
            Assert.Equal(2.0, lora.Scaling("default"));
            var param = key.EndsWith(".lora_A.weight", StringComparison.Ordinal) ? lora.LoraA("default").weight : lora.LoraB("default").weight;
            using var expected = st.Load(key);
            Assert.True(TensorAssert.Identical(param, expected), key);
        }
    }

    [Fact]
    public void LegacyLlavaHfKeys_MapToTheCurrentModulePaths()
    {
        Assert.Equal("model.language_model.layers.3.self_attn.q_proj", PeftKeyMapping.ToModulePath("language_model.model.layers.3.self_attn.q_proj"));
        Assert.Equal("model.multi_modal_projector.linear_1", PeftKeyMapping.ToModulePath("multi_modal_projector.linear_1"));
        Assert.Equal("model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj", PeftKeyMapping.ToModulePath("vision_tower.vision_model.encoder.layers.0.self_attn.q_proj"));
        Assert.Equal("lm_head", PeftKeyMapping.ToModulePath("language_model.lm_head.x")[..7]);
        Assert.Equal("model.language_model.layers.0.mlp.up_proj", PeftKeyMapping.ToModulePath("model.language_model.layers.0.mlp.up_proj"));

        using var dir = Fixture.Temp();
        File.Copy(Path.Combine(FixtureAdapter, "adapter_config.json"), dir.File("adapter_config.json"));
        using var a = randn(4, 48);
        using var b = randn(48, 4);
        SafetensorsWriter.Write(dir.File(PeftAdapter.WeightsFile), new Dictionary<string, Tensor>
        {
            ["base_model.model.language_model.model.layers.1.self_attn.o_proj.lora_A.weight"] = a,
            ["base_model.model.language_model.model.layers.1.self_attn.o_proj.lora_B.weight"] = b,
        });
        using var tree = new TinyLlava();
        var loaded = PeftAdapter.Load(dir.Path, tree);
        Assert.Equal(["model.language_model.layers.1.self_attn.o_proj"], loaded.LoraModulePaths);
        var lora = Assert.IsType<LoraLinear>(tree.model.language_model.layers[1].self_attn.o_proj);
        Assert.True(TensorAssert.Identical(lora.LoraA("default").weight.detach(), a));
    }

    [Fact]
    public void KeyMatchingNoModule_IsAnErrorNamingTheKey()
    {
        using var dir = Fixture.Temp();
        File.Copy(Path.Combine(FixtureAdapter, "adapter_config.json"), dir.File("adapter_config.json"));
        using var a = randn(4, 48);
        using var b = randn(48, 4);
        SafetensorsWriter.Write(dir.File(PeftAdapter.WeightsFile), new Dictionary<string, Tensor>
        {
            ["base_model.model.model.language_model.layers.9.self_attn.q_proj.lora_A.weight"] = a,
            ["base_model.model.model.language_model.layers.9.self_attn.q_proj.lora_B.weight"] = b,
        });
        using var tree = new TinyLlava();
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(dir.Path, tree));
        Assert.Contains("base_model.model.model.language_model.layers.9.self_attn.q_proj.lora_A.weight", e.Message);
        Assert.Contains("matches no module", e.Message);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.model.language_model.layers[0].self_attn.q_proj); // untouched
    }

    [Fact]
    public void ShapeMismatch_IsAnErrorNamingTheKeyAndBothShapes()
    {
        using var tree = new TinyLlava(hidden: 64, qOut: 64, kvOut: 32, intermediate: 128);
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(FixtureAdapter, tree));
        Assert.Matches(@"key 'base_model\.model\.model\.language_model\.layers\.\d\.[a-z_]+\.[a-z_]+\.lora_[AB]\.weight' has shape \[\d+, \d+\] but the model expects \[\d+, \d+\]", e.Message);
    }

    [Fact]
    public void UnsupportedPeftSettings_AreRejectedByName()
    {
        using var dir = Fixture.Temp();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureAdapter, "adapter_config.json")))!;
        json["use_dora"] = true;
        File.WriteAllText(dir.File("adapter_config.json"), json.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapterConfig.Read(dir.Path));
        Assert.Contains("use_dora", e.Message);
    }
}
