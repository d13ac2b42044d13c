namespace MultiLora.Llava.Checkpoints;

/// <summary>Which part of a LLaVA model a checkpoint (or a key) belongs to.</summary>
public enum ModelPart { Vision, Projector, Language }

/// <summary>
/// Maps the tensor names of the checkpoint layouts in circulation onto MultiLora's module names
/// (transformers' runtime names: model.vision_tower.vision_model.*, model.multi_modal_projector.*,
/// model.language_model.*, lm_head.*). Layouts seen:
/// - transformers 5 save_pretrained: model.vision_tower.*, model.multi_modal_projector.*, model.language_model.*, lm_head.weight
///   (and, as in the fixture, vision_tower.embeddings.* / language_model.model.* / language_model.lm_head.weight);
/// - llava-hf on the hub: vision_tower.vision_model.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight;
/// - CLIPVisionModel / CLIPModel: vision_model.* (text_model.*, projections ignored) or bare embeddings.* / encoder.*;
/// - LlamaForCausalLM: model.*, lm_head.weight;
/// - the LLaVA repository's projector: model.mm_projector.0/2.* (mlp2x_gelu) or model.mm_projector.* (linear).
/// The same mapping serves peft adapter keys (after their base_model.model. prefix).
/// </summary>
public static class KeyLayout
{
    public const string VisionRoot = "model.vision_tower.vision_model.";
    public const string ProjectorRoot = "model.multi_modal_projector.";
    public const string LanguageRoot = "model.language_model.";
    public const string LmHead = "lm_head.";

    static readonly string[] VisionPrefixes = ["model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower.", "vision_model.", ""];
    static readonly string[] VisionBodies = ["embeddings.", "encoder.", "pre_layrnorm.", "post_layernorm."];
    static readonly string[] ProjectorPrefixes = ["model.multi_modal_projector.", "multi_modal_projector."];
    static readonly string[] LanguagePrefixes = ["model.language_model.", "language_model.model.", "language_model.", "model."];
    static readonly string[] LmHeadPrefixes = ["lm_head.", "language_model.lm_head."];
    static readonly string[] LanguageBodies = ["embed_tokens.", "layers.", "norm."];

    /// <summary>Keys that carry no weights we use (position ids, cached RoPE tables, CLIP's text half).</summary>
    public static bool IsIgnorable(string key) =>
        key.EndsWith("position_ids", StringComparison.Ordinal) || key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
        || key.StartsWith("text_model.", StringComparison.Ordinal) || key is "visual_projection.weight" or "text_projection.weight" or "logit_scale";

    /// <summary>The module name for <paramref name="key"/> of a checkpoint holding <paramref name="part"/>, or null if it is not of that part.</summary>
    public static string? Map(string key, ModelPart part) => part switch
    {
        ModelPart.Vision => MapBody(key, VisionPrefixes, VisionBodies, VisionRoot),
        ModelPart.Projector => MapProjector(key),
        ModelPart.Language => MapLmHead(key) ?? MapBody(key, LanguagePrefixes, LanguageBodies, LanguageRoot),
        _ => null,
    };

    /// <summary>The module name for a key of a full LLaVA checkpoint (any part), or null.</summary>
    public static string? MapAny(string key)
    {
        if (key.Contains("multi_modal_projector.", StringComparison.Ordinal) || key.Contains("mm_projector", StringComparison.Ordinal))
            return Map(key, ModelPart.Projector);
        if (key.Contains("vision_tower.", StringComparison.Ordinal) || key.StartsWith("vision_model.", StringComparison.Ordinal))
            return Map(key, ModelPart.Vision);
        return Map(key, ModelPart.Language);
    }

    static string? MapBody(string key, string[] prefixes, string[] bodies, string root)
    {
        foreach (var prefix in prefixes)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string rest = key[prefix.Length..];
            if (bodies.Any(b => rest.StartsWith(b, StringComparison.Ordinal))) return root + rest;
        }
        return null;
    }

    static string? MapLmHead(string key)
    {
        foreach (var prefix in LmHeadPrefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) return LmHead + key[prefix.Length..];
        return null;
    }

    static string? MapProjector(string key)
    {
        foreach (var prefix in ProjectorPrefixes)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) return ProjectorRoot + key[prefix.Length..];
        // LLaVA repository: nn.Sequential(Linear, GELU, Linear) -> indices 0 and 2; a bare Linear for "linear"
        int at = key.IndexOf("mm_projector.", StringComparison.Ordinal);
        if (at < 0) return null;
        string tail = key[(at + "mm_projector.".Length)..];
        if (tail.StartsWith("0.", StringComparison.Ordinal)) return ProjectorRoot + "linear_1." + tail[2..];
        if (tail.StartsWith("2.", StringComparison.Ordinal)) return ProjectorRoot + "linear_2." + tail[2..];
        return ProjectorRoot + "linear_1." + tail;
    }
}
