using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Vision;

/// <summary>The encoder's layer list, under the key "encoder.layers" as in transformers.</summary>
public sealed class ClipEncoder : nn.Module<Tensor, Tensor>
{
    public ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>(Enumerable.Range(0, c.NumLayers).Select(_ => new ClipEncoderLayer(c, dtype, device)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("the vision transformer runs the layers it needs");
}

/// <summary>
/// CLIP ViT: embeddings, pre-norm ("pre_layrnorm", sic, as in the checkpoints), encoder layers,
/// post-norm. LLaVA reads an intermediate hidden state, so only the layers up to it are run.
/// </summary>
public sealed class ClipVisionTransformer : nn.Module<Tensor, Tensor>
{
    public ClipVisionEmbeddings embeddings;
    public LayerNorm pre_layrnorm;
    public ClipEncoder encoder;
    public LayerNorm post_layernorm;

    public ClipVisionConfig Config { get; }

    public ClipVisionTransformer(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipVisionTransformer))
    {
        Config = c;
        embeddings = new ClipVisionEmbeddings(c, dtype, device);
        pre_layrnorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        encoder = new ClipEncoder(c, dtype, device);
        post_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>The last hidden state [B, 1+N, hidden] (before post_layernorm).</summary>
    public override Tensor forward(Tensor pixels) => HiddenState(pixels, -1);

    /// <summary>
    /// transformers' hidden_states[<paramref name="layer"/>]: index 0 is the embeddings after
    /// pre_layrnorm, index i the output of encoder layer i; negative indices count from the end.
    /// </summary>
    public Tensor HiddenState(Tensor pixels, int layer)
    {
        int count = Config.NumLayers + 1;
        int index = layer < 0 ? count + layer : layer;
        if (index < 0 || index >= count)
            throw new ArgumentException($"vision_feature_layer {layer} is out of range for a tower with {Config.NumLayers} layers");
        using var scope = NewDisposeScope();
        var h = pre_layrnorm.call(embeddings.call(pixels));   // [B, 1+N, hidden]
        for (int i = 0; i < index; i++) h = encoder.layers[i].call(h);
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>CLIPVisionModel: the transformer under the key "vision_model".</summary>
public sealed class ClipVisionModel : nn.Module<Tensor, Tensor>
{
    public ClipVisionTransformer vision_model;

    public ClipVisionModel(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipVisionModel))
    {
        vision_model = new ClipVisionTransformer(c, dtype, device);
        RegisterComponents();
    }

    public ClipVisionConfig Config => vision_model.Config;

    public override Tensor forward(Tensor pixels) => vision_model.forward(pixels);

    public Tensor HiddenState(Tensor pixels, int layer) => vision_model.HiddenState(pixels, layer);
}
