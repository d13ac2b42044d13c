using MultiLora.Core.Tensors;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

public sealed class LoraLinearTests : TorchTest
{
    static LoraLinear Wrapped(long inF, long outF, out TorchSharp.Modules.Linear baseLinear)
    {
        baseLinear = Linear(inF, outF, hasBias: true);
        return new LoraLinear(baseLinear);
    }

    [Fact]
    public void Forward_IsBasePlusScaledBA_OnAKnownSmallCase()
    {
        using var lora = Wrapped(3, 2, out var baseLinear);
        using (no_grad())
        {
            baseLinear.weight.copy_(tensor(new float[,] { { 1, 0, 0 }, { 0, 1, 0 } }));
            baseLinear.bias!.copy_(tensor(new float[] { 0.5f, -0.5f }));
        }
        lora.AddAdapter("default", r: 1, alpha: 2); // scaling 2
        using (no_grad())
        {
            lora.LoraA("default").weight.copy_(tensor(new float[,] { { 1, 1, 1 } }));
            lora.LoraB("default").weight.copy_(tensor(new float[,] { { 1 }, { -2 } }));
        }
        using var x = tensor(new float[,] { { 1, 2, 3 } });
        // base: [1 + 0.5, 2 - 0.5] = [1.5, 1.5]; A x = 6; B A x = [6, -12]; times 2 = [12, -24].
        using var y = lora.forward(x);
        Assert.Equal(new float[] { 13.5f, -22.5f }, y.data<float>().ToArray());
    }

    [Fact]
    public void RsLora_ScalesByAlphaOverSqrtR()
    {
        using var lora = Wrapped(8, 4, out _);
        lora.AddAdapter("a", r: 16, alpha: 32, useRsLora: true);
        lora.AddAdapter("b", r: 16, alpha: 32);
        Assert.Equal(8.0, lora.Scaling("a"), 12);
        Assert.Equal(2.0, lora.Scaling("b"), 12);
    }

    [Fact]
    public void NewAdapter_HasPeftInit_AndLeavesTheOutputUnchanged()
    {
        using var lora = Wrapped(100, 20, out var baseLinear);
        lora.AddAdapter("default", r: 8, alpha: 16);
        var a = lora.LoraA("default").weight;
        Assert.Equal([8L, 100L], a.shape);
        Assert.Equal(ScalarType.Float32, a.dtype);
        // kaiming_uniform_(a=sqrt(5)) on fan_in 100: U(-1/sqrt(100), 1/sqrt(100)).
        Assert.True(a.abs().max().item<float>() <= 0.1f);
        Assert.True(a.std().item<float>() > 0.03f);
        Assert.Equal(0f, lora.LoraB("default").weight.abs().sum().item<float>());
        using var x = randn(5, 100);
        using var expected = baseLinear.forward(x);
        using var got = lora.forward(x);
        Assert.True(TensorAssert.Identical(expected, got));
    }

    [Fact]
    public void StateDictKeys_UsePeftsNames()
    {
        using var lora = Wrapped(4, 3, out _);
        lora.AddAdapter("default", 2, 4);
        Assert.Equal(["base_layer.bias", "base_layer.weight", "lora_A.default.weight", "lora_B.default.weight"],
                     lora.state_dict().Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.DoesNotContain(lora.BaseLayer.parameters(), p => p.requires_grad);
        Assert.True(lora.LoraA("default").weight.requires_grad);
    }

    [Fact]
    public void Dropout_AppliesToTheLoraPathInTrainingOnly()
    {
        using var lora = Wrapped(64, 8, out var baseLinear);
        lora.AddAdapter("default", 4, 8, dropout: 0.5);
        using (no_grad()) lora.LoraB("default").weight.normal_(0, 0.5);
        using var x = randn(16, 64);
        using var baseOut = baseLinear.forward(x);
        using var clean = baseOut.Plus(functional.linear(functional.linear(x, lora.LoraA("default").weight), lora.LoraB("default").weight).mul(Scalars.Of(2.0)));

        lora.train();
        using var t1 = lora.forward(x);
        using var t2 = lora.forward(x);
        Assert.False(t1.allclose(t2));
        Assert.False(t1.allclose(clean, 1e-4, 1e-4));

        lora.eval();
        using var e = lora.forward(x);
        Assert.True(e.allclose(clean, 1e-5, 1e-5));
    }

    [Fact]
    public void MergeThenUnmerge_RestoresTheBaseWeight_AndMergedOutputMatches()
    {
        using var lora = Wrapped(32, 16, out var baseLinear);
        lora.AddAdapter("default", 4, 8);
        using (no_grad()) lora.LoraB("default").weight.normal_(0, 0.1);
        using var w0 = baseLinear.weight.detach().clone();
        using var x = randn(6, 32);
        using var unmerged = lora.forward(x);

        lora.Merge();
        using var merged = lora.forward(x);
        Assert.True(merged.allclose(unmerged, 1e-5, 1e-5));
        Assert.False(baseLinear.weight.allclose(w0));

        lora.Unmerge();
        Assert.True(baseLinear.weight.allclose(w0, 0, 1e-6));
        using var again = lora.forward(x);
        Assert.True(again.allclose(unmerged, 1e-5, 1e-6));
    }

    [Fact]
    public void MergeIntoNf4Base_DequantizesAddsAndRequantizes()
    {
        using var w = randn(16, 64);
        var nf4 = Nf4Linear.FromWeight(w);
        using var lora = new LoraLinear(nf4);
        lora.AddAdapter("default", 4, 8);
        using (no_grad()) lora.LoraB("default").weight.normal_(0, 0.2);
        using var x = randn(3, 64);
        using var unmerged = lora.forward(x);
        using var delta = lora.DeltaWeight("default");
        using var before = nf4.DequantizeWeight(ScalarType.Float32);
        lora.Merge();
        using var after = nf4.DequantizeWeight(ScalarType.Float32);
        using var merged = lora.forward(x);
        // The merged weight is the requantization of (W + delta): within NF4 rounding of it.
        using var wanted = before.Plus(delta);
        using var err = (after - wanted).abs().max();
        Assert.True(err.item<float>() <= 0.16f * wanted.abs().max().item<float>());
        Assert.False(TensorAssert.Identical(before, after));
        Assert.True((merged - unmerged).abs().max().item<float>() < 0.5f * unmerged.abs().max().item<float>());
    }

    [Fact]
    public void TwoAdapters_AreSwitchable_AndNoneRunsTheBase()
    {
        using var lora = Wrapped(10, 6, out var baseLinear);
        lora.AddAdapter("one", 2, 2);
        lora.AddAdapter("two", 2, 4);
        using (no_grad())
        {
            lora.LoraB("one").weight.fill_(Scalars.One);
            lora.LoraB("two").weight.fill_(Scalars.Of(-1L));
        }
        using var x = randn(4, 10);
        using var baseOut = baseLinear.forward(x);

        lora.SetActiveAdapter("one");
        using var one = lora.forward(x);
        using var expectedOne = baseOut.Plus(functional.linear(functional.linear(x, lora.LoraA("one").weight), lora.LoraB("one").weight).mul(Scalars.Of(1.0)));
        Assert.True(one.allclose(expectedOne, 1e-5, 1e-6));

        lora.SetActiveAdapter("two");
        using var two = lora.forward(x);
        using var expectedTwo = baseOut.Plus(functional.linear(functional.linear(x, lora.LoraA("two").weight), lora.LoraB("two").weight).mul(Scalars.Of(2.0)));
        Assert.True(two.allclose(expectedTwo, 1e-5, 1e-6));

        lora.SetActiveAdapter(null);
        using var none = lora.forward(x);
        Assert.True(TensorAssert.Identical(none, baseOut));
        Assert.Throws<KeyNotFoundException>(() => lora.SetActiveAdapter("three"));
    }

    [Fact]
    public void Bf16Base_RunsTheLoraPathInFloat32AndRoundsOnlyTheSum_AsPeftDoes()
    {
        var baseLinear = Linear(16, 8, hasBias: false, dtype: ScalarType.BFloat16);
        using (no_grad()) baseLinear.weight.zero_();   // y is then the LoRA path alone, rounded once
        using var lora = new LoraLinear(baseLinear);
        lora.AddAdapter("default", 4, 8);               // scaling 2
        using (no_grad()) lora.LoraB("default").weight.normal_(0, 0.1);
        using var x = randn(2, 16).to(ScalarType.BFloat16);
        using var y = lora.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);

        // peft: x.to(lora_A.dtype); result + lora_B(lora_A(x)) * scaling; .to(result dtype)
        using (no_grad())
        {
            using var x32 = x.to(ScalarType.Float32);
            using var path = nn.functional.linear(nn.functional.linear(x32, lora.LoraA("default").weight), lora.LoraB("default").weight);
            using var expected = path.mul(Scalars.Of(2L)).to(ScalarType.BFloat16);
            Assert.True(TensorAssert.Identical(expected, y));
        }

        y.to(ScalarType.Float32).sum().backward();
        Assert.Equal(ScalarType.Float32, lora.LoraA("default").weight.dtype);
        Assert.Equal(ScalarType.Float32, lora.LoraA("default").weight.grad!.dtype);
        Assert.True(lora.LoraB("default").weight.grad!.abs().sum().item<float>() > 0);
        Assert.True(baseLinear.weight.grad is null || baseLinear.weight.grad.IsInvalid);
    }

    [Fact]
    public void CastAdapter_ToBf16_RunsTheLoraPathInBf16()
    {
        var baseLinear = Linear(16, 8, hasBias: false, dtype: ScalarType.BFloat16);
        using var lora = new LoraLinear(baseLinear);
        lora.AddAdapter("default", 4, 8);
        lora.CastAdapter("default", ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, lora.LoraA("default").weight.dtype);
        Assert.Equal(ScalarType.BFloat16, lora.LoraB("default").weight.dtype);
        using var x = randn(2, 16).to(ScalarType.BFloat16);
        using var y = lora.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Throws<KeyNotFoundException>(() => lora.CastAdapter("other", ScalarType.Float32));
    }

    [Fact]
    public void ModuleToBf16_CastsTheBaseButKeepsLoraFloat32()
    {
        using var tree = new TinyLlava();
        LoraInjector.Apply(tree, new LoraConfig { R = 2, Alpha = 4 });
        tree.to(ScalarType.BFloat16);
        var q = (LoraLinear)tree.model.language_model.layers[0].self_attn.q_proj;
        Assert.Equal(ScalarType.BFloat16, ((TorchSharp.Modules.Linear)q.BaseLayer).weight.dtype);
        Assert.Equal(ScalarType.Float32, q.LoraA("default").weight.dtype);
        Assert.Equal(ScalarType.Float32, q.LoraB("default").weight.dtype);
        Assert.True(q.LoraA("default").weight.requires_grad);
        using var x = randn(2, 48).to(ScalarType.BFloat16);
        using var y = tree.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
    }

    [Fact]
    public void QLoRA_GradientsReachLoraAndTheInputThroughTheNf4Base()
    {
        using var w = randn(12, 24);
        using var lora = new LoraLinear(Nf4Linear.FromWeight(w));
        lora.AddAdapter("default", 2, 4);
        using (no_grad()) lora.LoraB("default").weight.normal_(0, 0.1);
        using var x = randn(3, 24).requires_grad_(true);
        using var y = lora.forward(x);
        y.sum().backward();
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
        Assert.True(lora.LoraA("default").weight.grad!.abs().sum().item<float>() > 0);
        Assert.True(lora.LoraB("default").weight.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Injector_WrapsTargetsUnderThePrefix_FreezesTheRest_AndUnfreezesModulesToSave()
    {
        using var tree = new TinyLlava();
        var cfg = new LoraConfig { R = 4, Alpha = 8, ModulesToSave = ["multi_modal_projector"] };
        var paths = LoraInjector.Apply(tree, cfg);
        Assert.Equal(14, paths.Count);
        Assert.IsType<LoraLinear>(tree.model.language_model.layers[0].self_attn.q_proj);
        Assert.IsType<TorchSharp.Modules.Linear>(tree.model.vision_tower.vision_model.encoder.layers[0].q_proj);
        var trainable = tree.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(28 + 4, trainable.Count);
        Assert.Contains("model.language_model.layers.1.mlp.down_proj.lora_B.default.weight", trainable);
        Assert.Contains("model.multi_modal_projector.linear_1.weight", trainable);
        Assert.DoesNotContain("lm_head.weight", trainable);
        Assert.Contains("model.language_model.layers.1.mlp.down_proj.base_layer.weight", tree.state_dict().Keys);

        // A second adapter lands on the same LoraLinear modules.
        LoraInjector.Apply(tree, cfg with { AdapterName = "second", ModulesToSave = [] });
        var q = (LoraLinear)tree.model.language_model.layers[0].self_attn.q_proj;
        Assert.Equal(["default", "second"], q.Adapters.Order());
        Assert.Equal("second", q.ActiveAdapter);
        Assert.True(q.LoraA("second").weight.requires_grad);
        Assert.False(q.LoraA("default").weight.requires_grad);
    }

    [Fact]
    public void Injector_TargetsMatchingNothing_IsAnError()
    {
        using var tree = new TinyLlava();
        var e = Assert.Throws<ArgumentException>(() => LoraInjector.Apply(tree, new LoraConfig { TargetModules = TargetModules.FromNames("qkv") }));
        Assert.Contains("qkv", e.Message);
    }
}
