using MultiLora.Core.Tensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>The fixture's peft adapter on the fixture model against peft's outputs (float32, CPU).</summary>
public sealed class LoraFixtureTests
{
    static LlavaForConditionalGeneration WithAdapter()
    {
        var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        PeftAdapter.Load(Fixture.Path("adapter"), model);
        return model;
    }

    [Fact]
    public void PeftAdapter_GivesPeftLogits()
    {
        using var scope = NewDisposeScope();
        using var model = WithAdapter();
        using var _ = no_grad();
        Oracle.Close(model.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values")), Oracle.Load("lora_logits"), 1e-4, "lora_logits");
    }

    [Fact]
    public void MergedAdapter_GivesPeftMergedLogits()
    {
        using var scope = NewDisposeScope();
        using var model = WithAdapter();
        foreach (var (_, lora) in LoraInjector.LoraModules(model)) lora.Merge();
        using var _ = no_grad();
        Oracle.Close(model.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values")), Oracle.Load("merged_logits"), 1e-4, "merged_logits");
    }

    [Fact]
    public void LoraTrainLossAndGradients_MatchPeft()
    {
        using var scope = NewDisposeScope();
        using var model = WithAdapter();
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".lora_", StringComparison.Ordinal);
        var logits = model.Forward(Oracle.Load("train_input_ids"), Oracle.Load("pixel_values"));
        var loss = CausalLmLoss.Compute(logits, Oracle.Load("train_labels"));
        float expectedLoss = Oracle.Load("lora_train_loss").item<float>();
        Assert.True(Math.Abs(loss.item<float>() - expectedLoss) <= 1e-5, $"lora loss {loss.item<float>()} vs peft {expectedLoss}");
        loss.backward();

        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var matrix in new[] { "lora_A", "lora_B" })
        {
            var grad = named[$"model.language_model.layers.0.self_attn.q_proj.{matrix}.default.weight"].grad!;
            var expected = Oracle.Load($"grad.self_attn.q_proj.{matrix}.default.weight");
            double rel = Oracle.RelativeError(grad, expected);
            Assert.True(rel <= 1e-4, $"{matrix} gradient relative error {rel:E2}");
        }
        double total = Math.Sqrt(named.Where(kv => kv.Key.Contains(".lora_", StringComparison.Ordinal))
            .Sum(kv => kv.Value.grad!.pow(Scalars.Of(2L)).sum().item<float>()));
        double expectedNorm = Oracle.Load("lora_grad_norm_total").item<float>();
        Assert.True(Math.Abs(total - expectedNorm) / expectedNorm <= 1e-4, $"grad norm {total} vs peft {expectedNorm}");
    }

    [Fact]
    public void SavedAdapter_RoundTripsWithPeftKeyNamesAndConfig()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var model = WithAdapter();
        var cfg = PeftAdapterConfig.Read(Fixture.Path("adapter"), LoraConfig.DefaultAdapterName).Config;
        PeftAdapter.Save(tmp.Path, model, cfg);
        using var saved = MultiLora.Core.Safetensors.SafetensorsFile.Open(tmp.File("adapter_model.safetensors"));
        using var original = MultiLora.Core.Safetensors.SafetensorsFile.Open(Fixture.Path("adapter", "adapter_model.safetensors"));
        Assert.Equal(original.Tensors.Keys.Order(), saved.Tensors.Keys.Order());
        foreach (var key in original.Tensors.Keys) Assert.True(original.Load(key).eq(saved.Load(key)).all().item<bool>(), key);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tmp.File("adapter_config.json")))!;
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(8, config["lora_alpha"]!.GetValue<double>());

        using var reloaded = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        PeftAdapter.Load(tmp.Path, reloaded);
        using var _ = no_grad();
        Oracle.Close(reloaded.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values")), Oracle.Load("lora_logits"), 1e-4, "reloaded lora_logits");
    }

    /// <summary>Losses of 40 AdamW steps on the fixture's train batch with a fresh r=8 adapter (same seed for both bases).</summary>
    static List<float> TrainFreshAdapter(QuantConfig? quantize)
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(Quantize: quantize));
        manual_seed(7);
        LoraInjector.Apply(model, new LoraConfig { R = 8, Alpha = 16 });
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".lora_", StringComparison.Ordinal);
        var parameters = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = new MultiLora.Core.Optim.AdamW([new MultiLora.Core.Optim.AdamWGroup(parameters, Lr: 1e-2)]);
        var ids = Oracle.Load("train_input_ids");
        var labels = Oracle.Load("train_labels");
        var pixels = Oracle.Load("pixel_values");
        var losses = new List<float>();
        for (int step = 0; step < 40; step++)
        {
            using var stepScope = NewDisposeScope();
            var loss = CausalLmLoss.Compute(model.Forward(ids, pixels), labels);
            loss.backward();
            optimizer.Step();
            MultiLora.Core.Optim.Gradients.SetToNone(parameters.Select(p => p.parameter));
            losses.Add(loss.item<float>());
        }
        return losses;
    }

    [Fact]
    public void QloraTrainingLoss_FallsLikeLoras()
    {
        var lora = TrainFreshAdapter(null);
        var qlora = TrainFreshAdapter(new QuantConfig { Type = QuantType.Nf4, DoubleQuant = true });
        // The NF4 base starts elsewhere (quantization error on a random tiny model is large), so compare
        // how far each falls: QLoRA must keep at least 80% of LoRA's relative drop over the same steps.
        double loraDrop = 1 - lora[^1] / lora[0], qloraDrop = 1 - qlora[^1] / qlora[0];
        Assert.True(loraDrop > 0.5, $"lora loss {lora[0]:0.000} -> {lora[^1]:0.000}");
        Assert.True(qloraDrop >= 0.8 * loraDrop, $"qlora loss {qlora[0]:0.000} -> {qlora[^1]:0.000} (drop {qloraDrop:P0}) vs lora {lora[0]:0.000} -> {lora[^1]:0.000} (drop {loraDrop:P0})");
    }
}
