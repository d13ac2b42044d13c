using MultiLora.Core.Tensors;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

public sealed class SurgeryTests : TorchTest
{
    sealed class Doubler : Module<Tensor, Tensor>
    {
        public Doubler() : base(nameof(Doubler)) { }
        public override Tensor forward(Tensor x) => x.mul(Scalars.Of(2L));
    }

    [Fact]
    public void Replace_SetsFieldAndReregisters_SoForwardAndStateDictSeeTheNewModule()
    {
        using var tree = new TinyLlava();
        var attn = tree.model.language_model.layers[0].self_attn;
        var before = tree.named_modules().Select(m => m.name).ToList();
        var old = ModuleSurgery.Replace(tree, "model.language_model.layers.0.self_attn.q_proj", new Doubler());

        Assert.IsType<TorchSharp.Modules.Linear>(old);
        Assert.IsType<Doubler>(attn.q_proj);
        Assert.IsType<Doubler>(ModuleSurgery.Get(tree, "model.language_model.layers.0.self_attn.q_proj"));
        Assert.DoesNotContain("model.language_model.layers.0.self_attn.q_proj.weight", tree.state_dict().Keys);
        Assert.Contains("model.language_model.layers.0.self_attn.k_proj.weight", tree.state_dict().Keys);
        // Same names in the same order: the child keeps its position among its siblings.
        Assert.Equal(before.Where(n => n != "model.language_model.layers.0.self_attn.q_proj"),
                     tree.named_modules().Select(m => m.name).Where(n => n != "model.language_model.layers.0.self_attn.q_proj"));
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj"], attn.named_children().Select(c => c.name));

        using var x = randn(3, 48);
        using var expected = attn.o_proj.forward(x.mul(Scalars.Of(2L)).Plus((attn.k_proj.forward(x) * attn.v_proj.forward(x)).repeat_interleave(2, -1)));
        using var got = attn.forward(x);
        Assert.True(got.allclose(expected, 1e-6, 1e-6));
    }

    [Fact]
    public void Replace_UnknownPath_NamesTheMissingPart()
    {
        using var tree = new TinyLlava();
        var e = Assert.Throws<ArgumentException>(() => ModuleSurgery.Replace(tree, "model.language_model.layers.7.self_attn.q_proj", new Doubler()));
        Assert.Contains("model.language_model.layers.7", e.Message);
    }

    [Fact]
    public void TargetModules_NamesMatchLastComponentsAndRegexMatchesWholePath()
    {
        var names = TargetModules.FromNames("q_proj", "mlp.down_proj");
        Assert.True(names.Matches("model.language_model.layers.0.self_attn.q_proj"));
        Assert.True(names.Matches("q_proj"));
        Assert.True(names.Matches("model.language_model.layers.1.mlp.down_proj"));
        Assert.False(names.Matches("model.language_model.layers.0.self_attn.q_proj_extra"));
        Assert.False(names.Matches("model.language_model.layers.0.self_attn.xq_proj"));

        var regex = TargetModules.FromRegex(@".*language_model.*\.(q_proj|v_proj)");
        Assert.True(regex.Matches("model.language_model.layers.0.self_attn.q_proj"));
        Assert.False(regex.Matches("model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj"));
        Assert.False(regex.Matches("model.language_model.layers.0.self_attn.q_proj.base_layer")); // full match, not search
    }

    [Fact]
    public void Find_WithPrefix_LeavesTheVisionTowerOut()
    {
        using var tree = new TinyLlava();
        var target = TargetModules.FromNames("q_proj");
        var found = ModuleSurgery.Find(tree, (p, m) => p.StartsWith("model.language_model.", StringComparison.Ordinal) && target.Matches(p));
        Assert.Equal(["model.language_model.layers.0.self_attn.q_proj", "model.language_model.layers.1.self_attn.q_proj"], found.Select(f => f.Path));
        Assert.Equal(3, ModuleSurgery.Find(tree, (p, _) => target.Matches(p)).Count);
    }

    [Fact]
    public void QuantizeLinears_SkipsHeadTowerAndProjectorByDefault()
    {
        using var tree = new TinyLlava();
        var paths = Quantizer.QuantizeLinears(tree, "", QuantConfig.QLoRA);
        Assert.Equal(14, paths.Count);
        Assert.All(paths, p => Assert.StartsWith("model.language_model.", p));
        Assert.IsType<Nf4Linear>(tree.model.language_model.layers[1].mlp.down_proj);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.lm_head);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.model.multi_modal_projector.linear_1);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.model.vision_tower.vision_model.encoder.layers[0].q_proj);
        using var x = randn(2, 48);
        using var y = tree.forward(x);
        Assert.Equal([2L, 40L], y.shape);
    }
}
