using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Model;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>The fixture model loaded once for the parity tests of this class.</summary>
public sealed class TinyLlava : IDisposable
{
    public LlavaForConditionalGeneration Model { get; } = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
    public void Dispose() => Model.Dispose();
}

/// <summary>float32 CPU outputs against transformers' (tolerance 1e-4 absolute, generated ids exact).</summary>
public sealed class FixtureParityTests(TinyLlava tiny) : IClassFixture<TinyLlava>
{
    const double Tolerance = 1e-4;
    readonly LlavaForConditionalGeneration _model = tiny.Model;

    [Fact]
    public void VisionFeatures_MatchTransformersLayerMinusTwoWithoutCls()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var hidden = _model.model.vision_tower.HiddenState(Oracle.Load("pixel_values"), -2);
        Oracle.Close(hidden.narrow(1, 1, hidden.shape[1] - 1), Oracle.Load("vision_features"), Tolerance, "vision_features");
    }

    [Fact]
    public void ImageEmbeds_MatchTransformersProjector()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Oracle.Close(_model.ImageFeatures(Oracle.Load("pixel_values")), Oracle.Load("image_embeds"), Tolerance, "image_embeds");
    }

    [Fact]
    public void Logits_MatchTransformersWithImage()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = _model.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));
        Oracle.Close(logits, Oracle.Load("logits"), Tolerance, "logits");
    }

    [Fact]
    public void TextLogits_MatchTransformersWithoutImage()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Oracle.Close(_model.Forward(Oracle.Load("text_input_ids"), null), Oracle.Load("text_logits"), Tolerance, "text_logits");
    }

    [Fact]
    public void GreedyGeneration_EqualsTransformersIdsExactly()
    {
        using var scope = NewDisposeScope();
        var prompt = Oracle.Ids("input_ids").Select(i => (int)i).ToArray();
        var expected = Oracle.Ids("generated_ids").Select(i => (int)i).ToArray();
        var generated = LlavaGenerator.Generate(_model, [prompt], Oracle.Load("pixel_values"),
            new GenerationOptions(MaxNewTokens: expected.Length));
        Assert.Equal(expected, generated[0]);
    }

    [Fact]
    public void BatchedLeftPaddedGeneration_EqualsUnbatched()
    {
        using var scope = NewDisposeScope();
        var withImage = Oracle.Ids("input_ids").Select(i => (int)i).ToArray();
        var textOnly = Oracle.Ids("text_input_ids").Select(i => (int)i).ToArray();
        var shortText = textOnly[..10];
        var options = new GenerationOptions(MaxNewTokens: 6);
        var batched = LlavaGenerator.Generate(_model, [shortText, textOnly], null, options);
        Assert.Equal(LlavaGenerator.Generate(_model, [shortText], null, options)[0], batched[0]);
        Assert.Equal(LlavaGenerator.Generate(_model, [textOnly], null, options)[0], batched[1]);
        var mixed = LlavaGenerator.Generate(_model, [shortText, withImage], Oracle.Load("pixel_values"), options);
        Assert.Equal(LlavaGenerator.Generate(_model, [withImage], Oracle.Load("pixel_values"), options)[0], mixed[1]);
    }

    [Fact]
    public void ComposedFromParts_GivesTheSameLogits()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var composed = LlavaLoader.Compose(
            new CompositionSources(Fixture.Path("parts", "clip-vision"), Fixture.Path("parts", "llama"), Fixture.Path("model")),
            imageTokenId: 400, new LoadOptions());
        var logits = composed.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));
        Oracle.Close(logits, Oracle.Load("logits"), Tolerance, "composed logits");
    }
}
