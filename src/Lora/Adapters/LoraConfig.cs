using MultiLora.Lora.Surgery;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// A LoRA adapter's settings, named as in peft's LoraConfig. Defaults are peft's (r 8, alpha 8,
/// dropout 0, bias "none", adapter "default"); <see cref="Prefix"/> restricts injection to a subtree
/// (the language model by default, so the vision tower stays untouched).
/// </summary>
public sealed record LoraConfig
{
    public const string DefaultAdapterName = "default";
    public const string DefaultPrefix = "model.language_model.";

    public int R { get; init; } = 8;
    public double Alpha { get; init; } = 8;
    public double Dropout { get; init; }
    public TargetModules TargetModules { get; init; } = TargetModules.LlamaLinears;
    public bool UseRsLora { get; init; }
    /// <summary>peft's bias option; only "none" is supported (biases stay frozen).</summary>
    public string Bias { get; init; } = "none";
    public string AdapterName { get; init; } = DefaultAdapterName;
    /// <summary>Modules trained in full and saved with the adapter (e.g. "multi_modal_projector"), peft name matching.</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = [];
    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>alpha / r, or alpha / sqrt(r) with rsLoRA.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(R) : Alpha / R;

    public void Validate()
    {
        if (R <= 0) throw new ArgumentException($"LoRA r must be positive, got {R}");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"LoRA dropout must be in [0, 1), got {Dropout}");
        if (Bias != "none") throw new ArgumentException($"LoRA bias '{Bias}' is not supported (only \"none\")");
        if (string.IsNullOrWhiteSpace(AdapterName) || AdapterName.Contains('.'))
            throw new ArgumentException($"LoRA adapter name '{AdapterName}' must be non-empty and contain no '.'");
    }
}
