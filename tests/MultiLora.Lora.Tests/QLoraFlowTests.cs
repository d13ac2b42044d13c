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
        y.square().mean().backward();
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
