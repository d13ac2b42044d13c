using MultiLora.Core.Tensors;
using TorchSharp;
using MultiLora.Language;
using MultiLora.Vision;
using static TorchSharp.torch;

namespace MultiLora.Llava.Model;

/// <summary>Vision tower, projector and decoder under the names transformers uses (model.vision_tower, ...).</summary>
public sealed class LlavaModel : nn.Module<Tensor, Tensor>
{
    public ClipVisionModel vision_tower;
    public MultiModalProjector multi_modal_projector;
    public LlamaModel language_model;

    public LlavaModel(LlavaConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlavaModel))
    {
        vision_tower = new ClipVisionModel(c.Vision, dtype, device);
        multi_modal_projector = new MultiModalProjector(c, dtype, device);
        language_model = new LlamaModel(c.Text, dtype, device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("use LlavaForConditionalGeneration");
}

/// <summary>
/// LLaVA: the image goes through the vision tower (hidden state of vision_feature_layer, CLS dropped by
/// the default strategy) and the projector; the projected features replace the image placeholder tokens'
/// embeddings in order; the decoder and LM head produce logits.
/// </summary>
public sealed class LlavaForConditionalGeneration : nn.Module<Tensor, Tensor>
{
    public LlavaModel model;
    public nn.Module<Tensor, Tensor> lm_head;

    public LlavaConfig Config { get; }

    /// <param name="device">
    /// where the parameters live; <c>torch.META</c> gives shapes and dtypes without memory or random
    /// initialisation, for a loader that then puts the checkpoint's tensors in place (see LlavaLoader)
    /// </param>
    public LlavaForConditionalGeneration(LlavaConfig c, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(LlavaForConditionalGeneration))
    {
        Config = c;
        model = new LlavaModel(c, dtype, device);
        lm_head = LmHead.Create(c.Text, model.language_model, dtype, device);
        RegisterComponents();
    }

    /// <summary>
    /// Points the LM head at the embedding matrix again when the config ties them: a loader that swaps
    /// parameters (instead of copying into them) replaces the embedding's tensor, which the head no longer sees.
    /// </summary>
    public void TieWeights() => LmHead.Tie(Config.Text, lm_head, model.language_model);

    // A device or dtype move gives a swapped-in embedding weight a new tensor (TorchSharp's managed move
    // path), and the head would keep moving a copy of the old one: tie them again after every move.
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        base._to(device, dtype, non_blocking);
        TieWeights();
        return this;
    }

    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        base._to(deviceType, deviceIndex, non_blocking);
        TieWeights();
        return this;
    }

    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        base._to(dtype, non_blocking);
        TieWeights();
        return this;
    }

    public override Tensor forward(Tensor inputIds) => Forward(inputIds, null);

    /// <summary>pixels [N, 3, H, W] to projected image features [N, P, textHidden].</summary>
    public Tensor ImageFeatures(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var hidden = model.vision_tower.HiddenState(pixels, Config.VisionFeatureLayer);   // [N, 1+P, visionHidden]
        if (Config.FeatureSelect == FeatureSelect.Patches) hidden = hidden.narrow(1, 1, hidden.size(1) - 1);
        return model.multi_modal_projector.call(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Token embeddings [B, T, hidden] with the image placeholder positions filled by the projected
    /// features of <paramref name="pixels"/> (row-major order: first image fills the first run).
    /// </summary>
    /// <param name="imageTokens">
    /// the number of image placeholders in <paramref name="inputIds"/> when the caller counted them on the host (the
    /// trainer and the generator build the ids there); null counts them on the device, a device-to-host read that
    /// stalls a GPU's queue once per forward
    /// </param>
    public Tensor Embed(Tensor inputIds, Tensor? pixels, long? imageTokens = null)
    {
        using var scope = NewDisposeScope();
        var isImage = inputIds.eq(Scalars.Of((long)Config.ImageTokenId));                                       // [B, T]
        // the placeholder id may lie outside the vocabulary (LLaVA's -200): embed a harmless id there
        var embeds = model.language_model.embed_tokens.call(inputIds.masked_fill(isImage, Scalars.Of(0L))); // [B, T, hidden]
        long placeholders = imageTokens ?? isImage.sum().item<long>();
        if (pixels is null)
        {
            if (placeholders != 0)
                throw new ArgumentException($"the prompt has {placeholders} image tokens but no image was given");
            return embeds.MoveToOuterDisposeScope();
        }
        var features = ImageFeatures(pixels).to(embeds.dtype);                                 // [N, P, hidden]
        long featureCount = features.size(0) * features.size(1);
        if (featureCount != placeholders)
            throw new ArgumentException(
                $"image features and image tokens do not match: {features.size(0)} image(s) x {features.size(1)} features = {featureCount}, but the prompt has {placeholders} image tokens");
        var mask = isImage.unsqueeze(-1).expand_as(embeds);
        return embeds.masked_scatter(mask, features.reshape(-1, embeds.size(2))).MoveToOuterDisposeScope();
    }

    /// <summary>Logits [B, T, vocab] for ids [B, T] and optional pixels [N, 3, H, W].</summary>
    /// <param name="imageTokens">see <see cref="Embed"/></param>
    public Tensor Forward(Tensor inputIds, Tensor? pixels, Tensor? positions = null, Tensor? mask = null, IKvCache? cache = null, long? imageTokens = null)
    {
        using var scope = NewDisposeScope();
        return lm_head.call(HiddenStates(inputIds, pixels, positions, mask, cache, imageTokens)).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's output [B, T, hidden] (after the final norm), before the LM head: what a loss over some positions only needs.</summary>
    public Tensor HiddenStates(Tensor inputIds, Tensor? pixels, Tensor? positions = null, Tensor? mask = null, IKvCache? cache = null, long? imageTokens = null)
    {
        using var scope = NewDisposeScope();
        // decoding after a prefill: the ids are the model's own tokens, all inside the vocabulary, embedded as they
        // are (as transformers does), with no placeholder check and so no device-to-host read per token
        var embeds = pixels is null && cache is { Length: > 0 }
            ? model.language_model.embed_tokens.call(inputIds)
            : Embed(inputIds, pixels, imageTokens);
        return model.language_model.Forward(embeds, positions, mask, cache).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits for generated tokens only (a decode step after the prompt's prefill): every id is embedded as a
    /// token, an image placeholder id too, as transformers does when no pixels are given. Why not <see cref="Forward"/>:
    /// a model may generate its own placeholder id, and a server must not fail the whole batch on it.
    /// </summary>
    public Tensor ForwardTokens(Tensor inputIds, Tensor positions, Tensor? mask, IKvCache cache)
    {
        using var scope = NewDisposeScope();
        var hidden = model.language_model.Forward(model.language_model.embed_tokens.call(inputIds), positions, mask, cache);
        return lm_head.call(hidden).MoveToOuterDisposeScope();
    }
}
