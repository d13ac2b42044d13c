using MultiLora.Core.Tensors;
using TorchSharp;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Tests.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Tests.Model;

/// <summary>
/// The loader builds the model on the meta device and swaps the checkpoint's tensors in; these compare it
/// with the path it replaced (random initialisation on the CPU, then a copy into every parameter).
/// </summary>
public sealed class MetaLoadTests
{
    /// <summary>The previous load path, through public pieces: build with random weights, copy the checkpoint in.</summary>
    internal static LlavaForConditionalGeneration InitialiseThenCopy(string dir, ScalarType dtype = ScalarType.Float32)
    {
        var model = new LlavaForConditionalGeneration(LlavaConfig.Load(Path.Combine(dir, "config.json")), dtype);
        using var checkpoint = MultiLora.Core.Safetensors.SafetensorsCheckpoint.Open(dir);
        new WeightLoader(model).Load(checkpoint, KeyLayout.MapAny);
        model.eval();
        return model;
    }

    internal static Tensor Logits(LlavaForConditionalGeneration model)
    {
        using var _ = no_grad();
        return model.Forward(Oracle.Load("input_ids"), Oracle.Load("pixel_values"));
    }

    internal static void AssertIdentical(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.eq(expected).all().item<bool>(), $"{what}: logits differ, max |diff| {Oracle.MaxAbsDiff(actual, expected):E3}");
    }

    [Fact]
    public void MetaBuiltLoad_LogitsEqualInitialiseThenCopyExactly()
    {
        using var scope = NewDisposeScope();
        using var expected = InitialiseThenCopy(Fixture.Path("model"));
        using var loaded = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        // rotary frequencies and every other non-checkpoint state are computed, not loaded: equal logits cover them
        AssertIdentical(Logits(expected), Logits(loaded), "meta-built load");
    }

    [Fact]
    public void MetaBuiltLoad_LeavesEveryParameterOnTheCpuInTheRequestedDtype()
    {
        using var loaded = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions(DType: ScalarType.BFloat16));
        foreach (var (name, p) in loaded.named_parameters())
        {
            Assert.True(p.device.type == TorchSharp.DeviceType.CPU, $"{name} is on {p.device}");
            Assert.True(p.dtype == ScalarType.BFloat16, $"{name} is {p.dtype}");
            Assert.True(p.requires_grad, $"{name} does not require grad (a fresh model's parameters do)");
        }
    }

    [Fact]
    public void TiedEmbeddings_HeadSharesTheLoadedEmbeddingMatrix()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Current,
            editConfig: c => c["text_config"]!["tie_word_embeddings"] = true, drop: k => k == "lm_head.weight");
        using var expected = InitialiseThenCopy(dir);
        using var loaded = LlavaLoader.Load(dir, new LoadOptions());
        AssertIdentical(Logits(expected), Logits(loaded), "tied embeddings");
        // one matrix, not two equal ones: a change to the embedding shows in the head
        var head = ((Linear)loaded.lm_head).weight;
        var embed = loaded.model.language_model.embed_tokens.weight!;
        using (no_grad()) embed.mul_(Scalars.Of(2L));
        Assert.True(head.eq(embed).all().item<bool>(), "the LM head no longer shares the embedding matrix");
    }

    [Fact]
    public void TiedEmbeddings_StayOneMatrixAfterTheModelIsCast()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Current,
            editConfig: c => c["text_config"]!["tie_word_embeddings"] = true, drop: k => k == "lm_head.weight");
        using var loaded = LlavaLoader.Load(dir, new LoadOptions());
        // a swapped-in Embedding weight is moved by TorchSharp's managed path, which replaces the tensor
        loaded.to(ScalarType.BFloat16);
        var head = ((Linear)loaded.lm_head).weight!;
        var embed = loaded.model.language_model.embed_tokens.weight!;
        Assert.Equal(ScalarType.BFloat16, head.dtype);
        using (no_grad()) embed.mul_(Scalars.Of(2L));
        Assert.True(head.eq(embed).all().item<bool>(), "after .to(bf16) the LM head no longer shares the embedding matrix");
    }

    [Fact]
    public void FreshProjectorComposition_InitialisesOnlyTheProjector()
    {
        using var scope = NewDisposeScope();
        using var composed = LlavaLoader.Compose(
            new CompositionSources(Fixture.Path("parts", "clip-vision"), Fixture.Path("parts", "llama"), ProjectorPath: null), imageTokenId: 400, new LoadOptions());
        using var full = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        foreach (var (name, p) in composed.model.multi_modal_projector.named_parameters())
        {
            Assert.False(p.is_meta, name);
            Assert.True(p.abs().sum().item<float>() > 0, $"{name} is all zeros");
        }
        // the tower and the language model are the checkpoints' own
        var fullTower = full.model.vision_tower.state_dict();
        foreach (var (name, t) in composed.model.vision_tower.state_dict())
            Assert.True(t.eq(fullTower[name]).all().item<bool>(), $"vision_tower.{name}");
    }
}
