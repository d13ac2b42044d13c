using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>The same weights in every layout, sharding and dtype load to the same model.</summary>
public sealed class CheckpointVariantTests
{
    static Tensor Logits(LlavaForConditionalGeneration model, string idsName = "input_ids")
    {
        using var _ = no_grad();
        return model.Forward(Oracle.Load(idsName), Oracle.Load("pixel_values")).to(ScalarType.Float32);
    }

    [Theory]
    [InlineData(Layout.Hub, 1)]
    [InlineData(Layout.Current, 1)]
    [InlineData(Layout.Hub, 3)]
    [InlineData(Layout.Current, 4)]
    public void EveryKeyLayoutAndSharding_LoadsToTransformersLogits(Layout layout, int shards)
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(FixtureVariants.Write(tmp.Path, layout, shards), new LoadOptions());
        Oracle.Close(Logits(model), Oracle.Load("logits"), 1e-4, $"{layout} x{shards} logits");
    }

    [Fact]
    public void Bf16StoredCheckpoint_LoadsAsFloat32WithinBf16RoundingOfTheWeights()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(FixtureVariants.Write(tmp.Path, Layout.Hub, 2, ScalarType.BFloat16), new LoadOptions());
        Assert.Equal(ScalarType.Float32, model.lm_head.parameters().First().dtype);
        // bf16 keeps 8 significant bits: each weight moves by up to 2^-9 relative
        double rel = Oracle.RelativeError(Logits(model), Oracle.Load("logits"));
        Assert.True(rel < 2e-2, $"bf16-stored logits: relative error {rel:E2}");
    }

    [Fact]
    public void Bfloat16Compute_StaysWithinStatedToleranceOfFloat32()
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(DType: ScalarType.BFloat16));
        var logits = Logits(model);
        var expected = Oracle.Load("logits");
        // bf16 activations and weights: relative error of the logits under 3e-2, and the same argmax almost everywhere
        double rel = Oracle.RelativeError(logits, expected);
        Assert.True(rel < 3e-2, $"bf16 logits: relative error {rel:E2}");
        double agreement = logits.argmax(-1).eq(expected.argmax(-1)).to(ScalarType.Float32).mean().item<float>();
        Assert.True(agreement >= 0.9, $"bf16 argmax agreement {agreement:P0}");
    }

    [Fact]
    public void FullSelectStrategyAndOtherFeatureLayer_UseThatHiddenStateWithCls()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Hub, editConfig: c =>
        {
            c["vision_feature_layer"] = -1;
            c["vision_feature_select_strategy"] = "full";
        });
        using var model = LlavaLoader.Load(dir, new LoadOptions());
        Assert.Equal(17, model.Config.ImageTokens());
        using var _ = no_grad();
        var features = model.ImageFeatures(Oracle.Load("pixel_values"));
        var hidden = model.model.vision_tower.HiddenState(Oracle.Load("pixel_values"), 3);   // -1 of 3 layers = layer 3
        var expected = model.model.multi_modal_projector.call(hidden);
        Assert.Equal([1L, 17, 48], features.shape);
        Oracle.Close(features, expected, 0, "full/-1 features");
    }

    [Fact]
    public void TowerAboveItsTrainedResolution_InterpolatesPositionsLikeTransformers()
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        using var _ = no_grad();
        var hidden = model.model.vision_tower.HiddenState(Oracle.Load("pixel_values_56"), -2);
        Oracle.Close(hidden.narrow(1, 1, hidden.shape[1] - 1), Oracle.Load("vision_features_56"), 1e-4, "vision_features_56");
    }
}
