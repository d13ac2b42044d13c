using MultiLora.Core.Tensors;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Lora.Tests;

public sealed class QLoraFlowTests : TorchTest
{
    [Fact]
    public void QuantizeThenInject_TrainsOnlyLora_AndTheAdapterMovesToAnotherQuantizedTree()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        Quantizer.QuantizeLinears(tree, LoraConfig.DefaultPrefix, QuantConfig.QLoRA);
        string basePath = dir.File("base.safetensors");
        QuantizedCheckpoint.Save(tree, basePath);
        var cfg = new LoraConfig { R = 4, Alpha = 8 };
        LoraInjector.Apply(tree, cfg);
        var q = Assert.IsType<LoraLinear>(tree.model.language_model.layers[0].self_attn.q_proj);
        Assert.IsType<Nf4Linear>(q.BaseLayer);
        foreach (var (_, m) in LoraInjector.LoraModules(tree))
            using (no_grad()) m.LoraB("default").weight.normal_(0, 0.05);

        using var x = randn(2, 48);
        using var y = tree.forward(x);
        y.pow(Scalars.Of(2L)).mean().backward();
        var withGrad = tree.named_parameters().Where(p => p.parameter.grad is { } g && !g.IsInvalid).Select(p => p.name).ToList();
        Assert.Equal(28, withGrad.Count);
        Assert.All(withGrad, n => Assert.Matches(@"\.lora_[AB]\.default\.weight$", n));

        string adapterDir = Path.Combine(dir.Path, "adapter");
        PeftAdapter.Save(adapterDir, tree, cfg);
        // The QLoRA hand-off: a quantized base checkpoint plus a peft adapter.
        using var other = new TinyLlava();
        QuantizedCheckpoint.Load(other, basePath);
        PeftAdapter.Load(adapterDir, other);
        using var y2 = other.forward(x);
        using var y1 = tree.forward(x);
        Assert.True(TensorAssert.Identical(y1, y2));
    }

    [Fact]
    public void InjectThenQuantize_QuantizesTheBaseLayersButNotLoraMatrices()
    {
        using var tree = new TinyLlava();
        LoraInjector.Apply(tree, new LoraConfig { R = 2, Alpha = 4 });
        var paths = Quantizer.QuantizeLinears(tree, LoraConfig.DefaultPrefix, QuantConfig.QLoRA);
        Assert.Equal(14, paths.Count);
        Assert.All(paths, p => Assert.EndsWith(".base_layer", p));
        var q = Assert.IsType<LoraLinear>(tree.model.language_model.layers[1].mlp.up_proj);
        Assert.IsType<Nf4Linear>(q.BaseLayer);
        Assert.IsType<TorchSharp.Modules.Linear>(q.LoraA("default"));
        using var x = randn(2, 48);
        using var y = tree.forward(x);
        Assert.Equal([2L, 40L], y.shape);
    }
}

public sealed class QuantizeOnLoadTests : TorchTest
{
    // The fixture's model.safetensors uses the llava-hf hub layout (language_model.model.layers.N...).
    static string HubKey(string key) => key.Replace("model.language_model.", "language_model.model.", StringComparison.Ordinal);

    [Fact]
    public void QuantizeFromCheckpoint_QuantizesTheFixturesLanguageModelWeights()
    {
        using var ckpt = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(Fixture.Path("model"));
        using var tree = new TinyLlava();
        var paths = Quantizer.QuantizeFromCheckpoint(tree, ckpt, LoraConfig.DefaultPrefix, QuantConfig.QLoRA, HubKey);
        Assert.Equal(14, paths.Count);
        foreach (var path in paths)
        {
            var layer = Assert.IsType<Nf4Linear>(Surgery.ModuleSurgery.Get(tree, path));
            using var w = ckpt.Load(HubKey(path + ".weight"));
            using var reference = Nf4Linear.FromWeight(w);
            using var expected = reference.DequantizeWeight(ScalarType.Float32);
            using var got = layer.DequantizeWeight(ScalarType.Float32);
            Assert.True(TensorAssert.Identical(expected, got), path);
        }
    }

    [Fact]
    public void QuantizeFromCheckpoint_ShapeMismatchNamesKeyAndShapes()
    {
        using var ckpt = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(Fixture.Path("model"));
        using var tree = new TinyLlava(hidden: 48, qOut: 48, kvOut: 24, intermediate: 64);
        var e = Assert.Throws<InvalidDataException>(() => Quantizer.QuantizeFromCheckpoint(tree, ckpt, LoraConfig.DefaultPrefix, QuantConfig.QLoRA, HubKey));
        Assert.Contains("key 'language_model.model.layers.0.mlp.gate_proj.weight' has shape [96, 48] but the model expects [64, 48]", e.Message);
    }
}
