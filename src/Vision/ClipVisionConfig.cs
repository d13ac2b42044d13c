using MultiLora.Core.Config;

namespace MultiLora.Vision;

/// <summary>A CLIP ViT vision tower, from a clip_vision_model config or the vision_config of a clip/llava config.</summary>
public sealed record ClipVisionConfig(
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int ImageSize,
    int PatchSize,
    int NumChannels,
    double LayerNormEps,
    string HiddenAct)
{
    public int GridSize => ImageSize / PatchSize;
    public int NumPositions => GridSize * GridSize + 1;

    /// <param name="hfDefaults">fill fields a llava vision_config leaves out with CLIPVisionConfig's defaults, as transformers does</param>
    public static ClipVisionConfig FromJson(JsonConfig c, bool hfDefaults = false)
    {
        string type = c.String("model_type", "clip_vision_model");
        if (type == "clip")
            return FromJson(c.Object("vision_config") ?? throw new InvalidDataException($"{c.Origin}: a clip config needs a 'vision_config'"), hfDefaults: true);
        if (type != "clip_vision_model")
            throw new InvalidDataException($"{c.Origin}: model_type '{type}' is not a supported vision tower (clip_vision_model, clip)");
        int Req(string key, int hf) => hfDefaults ? c.Int(key, hf) : c.Int(key);
        string act = c.String("hidden_act", "quick_gelu");
        if (act is not ("quick_gelu" or "gelu" or "gelu_new" or "gelu_pytorch_tanh"))
            throw new InvalidDataException($"{c.Origin}: hidden_act '{act}' is not supported (quick_gelu, gelu, gelu_new, gelu_pytorch_tanh)");
        return new ClipVisionConfig(
            HiddenSize: Req("hidden_size", 768),
            IntermediateSize: Req("intermediate_size", 3072),
            NumLayers: Req("num_hidden_layers", 12),
            NumHeads: Req("num_attention_heads", 12),
            ImageSize: Req("image_size", 224),
            PatchSize: Req("patch_size", 32),
            NumChannels: c.Int("num_channels", 3),
            LayerNormEps: c.Double("layer_norm_eps", 1e-5),
            HiddenAct: act);
    }

    public static ClipVisionConfig Load(string configPath) => FromJson(JsonConfig.Load(configPath));
}
