using System.Text.Json.Nodes;
using MultiLora.Core.Config;
using MultiLora.Language;
using MultiLora.Vision;

namespace MultiLora.Llava.Model;

/// <summary>Which hidden states of the vision tower feed the projector, and how.</summary>
public enum FeatureSelect
{
    /// <summary>"default": drop the CLS token, keep the patches.</summary>
    Patches,
    /// <summary>"full": keep CLS and patches.</summary>
    Full,
}

/// <summary>A LLaVA model: vision tower + projector + language model, as in a llava config.json.</summary>
public sealed record LlavaConfig(
    ClipVisionConfig Vision,
    LlamaConfig Text,
    int ImageTokenId,
    int VisionFeatureLayer,
    FeatureSelect FeatureSelect,
    string ProjectorType,
    string ProjectorAct,
    bool ProjectorBias)
{
    public const string Mlp2xGelu = "mlp2x_gelu";
    public const string Linear = "linear";

    /// <summary>Image tokens per image at the tower's resolution, or at <paramref name="resolution"/>.</summary>
    public int ImageTokens(int? resolution = null)
    {
        int grid = (resolution ?? Vision.ImageSize) / Vision.PatchSize;
        return grid * grid + (FeatureSelect == FeatureSelect.Full ? 1 : 0);
    }

    public static LlavaConfig Load(string configPath)
    {
        var c = JsonConfig.Load(configPath);
        string type = c.String("model_type");
        if (type != "llava")
            throw new InvalidDataException($"{configPath}: model_type '{type}' is not 'llava' (compose a model from a CLIP and a Llama checkpoint with --vision and --language instead)");
        var vision = ClipVisionConfig.FromJson(c.Object("vision_config") ?? throw new InvalidDataException($"{configPath}: required field 'vision_config' is missing"), hfDefaults: true);
        var textJson = c.Object("text_config") ?? throw new InvalidDataException($"{configPath}: required field 'text_config' is missing");
        var text = LlamaConfig.FromJson(textJson, hfDefaults: true);
        // transformers 4 kept tie_word_embeddings at the top level of llava configs
        if (!textJson.Has("tie_word_embeddings") && c.Has("tie_word_embeddings"))
            text = text with { TieWordEmbeddings = c.Bool("tie_word_embeddings", false) };
        int imageToken = c.IntOrNull("image_token_index") ?? c.IntOrNull("image_token_id")
            ?? throw new InvalidDataException($"{configPath}: required field 'image_token_index' is missing");
        return new LlavaConfig(
            vision, text, imageToken,
            VisionFeatureLayer: ReadFeatureLayer(c),
            FeatureSelect: ParseSelect(c.String("vision_feature_select_strategy", "default"), configPath),
            ProjectorType: c.String("mm_projector_type", Mlp2xGelu),
            ProjectorAct: c.String("projector_hidden_act", "gelu"),
            ProjectorBias: c.Bool("multimodal_projector_bias", true));
    }

    static int ReadFeatureLayer(JsonConfig c)
    {
        if (c.Raw("vision_feature_layer") is { } raw && raw.ValueKind == System.Text.Json.JsonValueKind.Array)
            throw new InvalidDataException($"{c.Origin}: a list of vision_feature_layer values is not supported; give one layer");
        return c.Int("vision_feature_layer", -2);
    }

    public static FeatureSelect ParseSelect(string s, string origin) => s switch
    {
        "default" => FeatureSelect.Patches,
        "full" => FeatureSelect.Full,
        _ => throw new InvalidDataException($"{origin}: vision_feature_select_strategy '{s}' is not 'default' or 'full'"),
    };

    /// <summary>config.json in the layout transformers writes for LlavaForConditionalGeneration.</summary>
    public JsonObject ToJson()
    {
        var t = Text;
        var ropeParameters = new JsonObject { ["rope_theta"] = t.Rope.Theta, ["rope_type"] = t.Rope.Type };
        if (t.Rope.Type != "default") ropeParameters["factor"] = t.Rope.Factor;
        if (t.Rope.Type == "llama3")
        {
            ropeParameters["low_freq_factor"] = t.Rope.LowFreqFactor;
            ropeParameters["high_freq_factor"] = t.Rope.HighFreqFactor;
            ropeParameters["original_max_position_embeddings"] = t.Rope.OriginalMaxPositions;
        }
        var text = new JsonObject
        {
            ["model_type"] = t.ModelType,
            ["vocab_size"] = t.VocabSize,
            ["hidden_size"] = t.HiddenSize,
            ["intermediate_size"] = t.IntermediateSize,
            ["num_hidden_layers"] = t.NumLayers,
            ["num_attention_heads"] = t.NumHeads,
            ["num_key_value_heads"] = t.NumKeyValueHeads,
            ["head_dim"] = t.HeadDim,
            ["rms_norm_eps"] = t.RmsNormEps,
            ["max_position_embeddings"] = t.MaxPositions,
            ["rope_theta"] = t.Rope.Theta,
            ["rope_parameters"] = ropeParameters,
            ["attention_bias"] = t.AttentionBias,
            ["mlp_bias"] = t.MlpBias,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = t.TieWordEmbeddings,
            ["bos_token_id"] = t.BosTokenId,
            ["eos_token_id"] = t.EosTokenId,
            ["pad_token_id"] = t.PadTokenId,
        };
        var v = Vision;
        var vision = new JsonObject
        {
            ["model_type"] = "clip_vision_model",
            ["hidden_size"] = v.HiddenSize,
            ["intermediate_size"] = v.IntermediateSize,
            ["num_hidden_layers"] = v.NumLayers,
            ["num_attention_heads"] = v.NumHeads,
            ["image_size"] = v.ImageSize,
            ["patch_size"] = v.PatchSize,
            ["num_channels"] = v.NumChannels,
            ["layer_norm_eps"] = v.LayerNormEps,
            ["hidden_act"] = v.HiddenAct,
        };
        return new JsonObject
        {
            ["architectures"] = new JsonArray("LlavaForConditionalGeneration"),
            ["model_type"] = "llava",
            ["image_token_index"] = ImageTokenId,
            ["image_seq_length"] = ImageTokens(),
            ["vision_feature_layer"] = VisionFeatureLayer,
            ["vision_feature_select_strategy"] = FeatureSelect == FeatureSelect.Full ? "full" : "default",
            ["projector_hidden_act"] = ProjectorAct,
            ["multimodal_projector_bias"] = ProjectorBias,
            ["mm_projector_type"] = ProjectorType,
            ["tie_word_embeddings"] = t.TieWordEmbeddings,
            ["text_config"] = text,
            ["vision_config"] = vision,
        };
    }
}
