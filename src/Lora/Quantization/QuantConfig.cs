namespace MultiLora.Lora.Quantization;

public enum QuantType { Nf4, Int8 }

/// <summary>
/// How frozen linears are quantized. QLoRA is nf4 + double quantization (bitsandbytes defaults to fp4
/// without it; we default to the QLoRA recipe). Modules whose path contains one of
/// <see cref="SkipModules"/> as a path component stay in full precision: the output head, the vision
/// tower and the projector (LLaVA trains the projector, and skips "mm_projector" the same way).
/// </summary>
public sealed record QuantConfig
{
    public QuantType Type { get; init; } = QuantType.Nf4;
    public int BlockSize { get; init; } = Nf4.DefaultBlockSize;
    public bool DoubleQuant { get; init; } = true;
    public IReadOnlyList<string> SkipModules { get; init; } = DefaultSkipModules;

    public static IReadOnlyList<string> DefaultSkipModules { get; } = ["lm_head", "vision_tower", "multi_modal_projector"];

    public static QuantConfig QLoRA { get; } = new();

    public bool Skips(string modulePath)
    {
        var parts = modulePath.Split('.');
        return SkipModules.Any(s => s.Contains('.') ? modulePath.Contains(s, StringComparison.Ordinal) : parts.Contains(s));
    }
}
