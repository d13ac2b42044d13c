namespace MultiLora.Lora.Peft;

/// <summary>
/// Maps the module paths inside peft adapter keys to MultiLora module paths.
/// peft saves "base_model.model." + the model's module path. MultiLora's paths are those of
/// transformers 5's LlavaForConditionalGeneration ("model.language_model.layers.N...",
/// "model.vision_tower...", "model.multi_modal_projector...", "lm_head"), so current adapters map 1:1.
/// Adapters trained on older llava-hf layouts say "language_model.model.layers.N...",
/// "language_model.lm_head", "vision_tower...", "multi_modal_projector..."; those legacy prefixes
/// (never the start of a current path) are rewritten to the current ones.
/// </summary>
public static class PeftKeyMapping
{
    public const string PeftPrefix = "base_model.model.";

    static readonly (string Legacy, string Current)[] LegacyPrefixes =
    [
        ("language_model.model.", "model.language_model."),
        ("language_model.lm_head.", "lm_head."),
        ("vision_tower.", "model.vision_tower."),
        ("multi_modal_projector.", "model.multi_modal_projector."),
    ];

    /// <summary>"base_model.model.&lt;path&gt;" for saving.</summary>
    public static string ToPeftKey(string modulePath, string suffix) => $"{PeftPrefix}{modulePath}.{suffix}";

    /// <summary>The MultiLora path for a peft key's path part (the key without "base_model.model.").</summary>
    public static string ToModulePath(string peftPath)
    {
        foreach (var (legacy, current) in LegacyPrefixes)
            if (peftPath.StartsWith(legacy, StringComparison.Ordinal))
                return current + peftPath[legacy.Length..];
        return peftPath;
    }

    /// <summary>Strips "base_model.model." (required) from a saved key.</summary>
    public static string StripPrefix(string key, string file) =>
        key.StartsWith(PeftPrefix, StringComparison.Ordinal)
            ? key[PeftPrefix.Length..]
            : throw new InvalidDataException($"{file}: key '{key}' does not start with '{PeftPrefix}' (not a peft adapter key)");
}
