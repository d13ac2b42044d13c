using MultiLora.Core.Config;

namespace MultiLora.Language;

/// <summary>RoPE variant: "default", "linear" (position interpolation) or "llama3" (frequency-banded scaling).</summary>
public sealed record RopeSettings(
    double Theta,
    string Type = "default",
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositions = 8192);

/// <summary>
/// A Llama-family decoder (llama, mistral, qwen2 share the shape): read from config.json in either the
/// transformers 4 style (rope_theta, rope_scaling) or the 5 style (rope_parameters).
/// </summary>
public sealed record LlamaConfig(
    int VocabSize,
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int NumKeyValueHeads,
    int HeadDim,
    double RmsNormEps,
    RopeSettings Rope,
    int MaxPositions,
    bool AttentionBias,
    bool OutputProjectionBias,
    bool MlpBias,
    bool TieWordEmbeddings,
    int? BosTokenId,
    int? EosTokenId,
    int? PadTokenId,
    string ModelType)
{
    static readonly string[] Supported = ["llama", "mistral", "qwen2"];

    /// <summary>
    /// Reads a config object. <paramref name="hfDefaults"/>: a llava text_config may list only what differs
    /// from transformers' LlamaConfig defaults (hub llava-hf configs do), so fill those in; a standalone
    /// config.json must state the architecture's sizes.
    /// </summary>
    public static LlamaConfig FromJson(JsonConfig c, bool hfDefaults = false)
    {
        string type = c.String("model_type", "llama");
        if (!Supported.Contains(type))
            throw new InvalidDataException($"{c.Origin}: model_type '{type}' is not a supported language model (supported: {string.Join(", ", Supported)})");

        int hidden = hfDefaults ? c.Int("hidden_size", 4096) : c.Int("hidden_size");
        int heads = hfDefaults ? c.Int("num_attention_heads", 32) : c.Int("num_attention_heads");
        int layers = hfDefaults ? c.Int("num_hidden_layers", 32) : c.Int("num_hidden_layers");
        int intermediate = hfDefaults ? c.Int("intermediate_size", 11008) : c.Int("intermediate_size");
        int vocab = hfDefaults ? c.Int("vocab_size", 32000) : c.Int("vocab_size");
        if (hidden % heads != 0 && !c.Has("head_dim"))
            throw new InvalidDataException($"{c.Origin}: hidden_size {hidden} is not divisible by num_attention_heads {heads} and no head_dim is given");
        int kvHeads = c.Int("num_key_value_heads", heads);
        if (heads % kvHeads != 0)
            throw new InvalidDataException($"{c.Origin}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");

        // qwen2 has biases on q/k/v but not on o_proj and no attention_bias field.
        bool qkvBias = type == "qwen2" || c.Bool("attention_bias", false);
        bool oBias = type != "qwen2" && c.Bool("attention_bias", false);

        return new LlamaConfig(
            VocabSize: vocab,
            HiddenSize: hidden,
            IntermediateSize: intermediate,
            NumLayers: layers,
            NumHeads: heads,
            NumKeyValueHeads: kvHeads,
            HeadDim: c.Int("head_dim", hidden / heads),
            RmsNormEps: c.Double("rms_norm_eps", 1e-6),
            Rope: ReadRope(c),
            MaxPositions: c.Int("max_position_embeddings", 2048),
            AttentionBias: qkvBias,
            OutputProjectionBias: oBias,
            MlpBias: c.Bool("mlp_bias", false),
            TieWordEmbeddings: c.Bool("tie_word_embeddings", false),
            BosTokenId: c.IntOrNull("bos_token_id"),
            EosTokenId: c.IntOrNull("eos_token_id"),
            PadTokenId: c.IntOrNull("pad_token_id"),
            ModelType: type);
    }

    static RopeSettings ReadRope(JsonConfig c)
    {
        // transformers 5: rope_parameters {rope_theta, rope_type, factor, ...}; 4: rope_theta + rope_scaling {type|rope_type, factor, ...}.
        var p = c.Object("rope_parameters") ?? c.Object("rope_scaling");
        double theta = c.Object("rope_parameters")?.Double("rope_theta", double.NaN) is { } t && !double.IsNaN(t) ? t : c.Double("rope_theta", 10000.0);
        if (p is null) return new RopeSettings(theta);
        string type = p.String("rope_type", p.String("type", "default"));
        return type switch
        {
            "default" => new RopeSettings(theta),
            "linear" => new RopeSettings(theta, type, p.Double("factor")),
            "llama3" => new RopeSettings(theta, type, p.Double("factor"), p.Double("low_freq_factor"), p.Double("high_freq_factor"),
                p.Int("original_max_position_embeddings")),
            _ => throw new InvalidDataException($"{p.Origin}: rope type '{type}' is not supported (default, linear, llama3)"),
        };
    }

    public static LlamaConfig Load(string configPath) => FromJson(JsonConfig.Load(configPath));
}
