using MultiLora.Language;
using MultiLora.Llava.Model;
using MultiLora.Vision;

namespace MultiLora.Benchmarks.Anchor;

public enum AnchorKind { Train, Generate }

/// <summary>What a row must reach to meet issue 16's goal (all optional; the table checks the ones given).</summary>
public sealed record AnchorGoal(
    double? SpeedupOverHf = null,
    bool PeakAtMostHf = false,
    double? PeakGiBAtMost = null,
    double? TokensPerSecondAtLeast = null,
    string? RelativeTo = null,
    double? SpeedOfRelativeAtLeast = null)
{
    public string Describe()
    {
        var parts = new List<string>();
        if (SpeedupOverHf is { } s) parts.Add($">= {s:0.##}x HF");
        if (PeakAtMostHf) parts.Add("peak <= HF");
        if (PeakGiBAtMost is { } p) parts.Add($"peak <= {p:0.##} GiB");
        if (TokensPerSecondAtLeast is { } t) parts.Add($">= {t:0} tok/s");
        if (RelativeTo is { } r) parts.Add($">= {SpeedOfRelativeAtLeast:0.##}x {r}");
        return string.Join(", ", parts);
    }
}

/// <summary>
/// One row of issue 16's comparison: the model shape (CLIP ViT-L/14 at 336 or 224 px + a TinyLlama-1.1B- or
/// Llama-7B-shaped decoder), what runs (training with LoRA / QLoRA / full fine-tuning, or greedy generation) and the
/// batch, exactly as benchmarks/gpu/hf_anchor.py runs the same row in transformers + peft (same names).
/// </summary>
public sealed record AnchorPreset(
    string Name,
    AnchorKind Kind,
    LlamaConfig Language,
    ClipVisionConfig Vision,
    int Batch,
    int TextTokens,
    string Method,
    int LoraRank,
    bool GradientCheckpointing,
    int NewTokens,
    AnchorGoal Goal)
{
    public const int ImageTokenId = 32000;
    public const int VocabSize = 32064;

    /// <summary>Image tokens per sample (CLS dropped, as LLaVA's default feature selection does).</summary>
    public int ImageTokens => Vision.GridSize * Vision.GridSize;

    /// <summary>Tokens per training sample: image tokens + text (BOS, image, then text - 1 tokens), as hf_anchor.py builds them.</summary>
    public int SequenceLength => ImageTokens + TextTokens;

    public LlavaConfig ToConfig() => new(Vision, Language, ImageTokenId, -2, FeatureSelect.Patches, LlavaConfig.Mlp2xGelu, "gelu", true);

    /// <summary>CLIP ViT-L/14 at <paramref name="image"/> px (openai/clip-vit-large-patch14[-336]).</summary>
    public static ClipVisionConfig ClipLarge(int image) => new(1024, 4096, 24, 16, image, 14, 3, 1e-5, "quick_gelu");

    /// <summary>TinyLlama-1.1B's decoder (GQA, 4 key/value heads) with LLaVA's 32064-token vocabulary.</summary>
    public static LlamaConfig TinyLlama => Llama(2048, 5632, 22, 32, 4);

    /// <summary>Llama-2-7B / Vicuna-7B's decoder with LLaVA's 32064-token vocabulary.</summary>
    public static LlamaConfig Llama7B => Llama(4096, 11008, 32, 32, 32);

    /// <summary>transformers' LlamaConfig defaults for the fields hf_anchor.py leaves unset (rms_norm_eps 1e-6, rope_theta 10000).</summary>
    public static LlamaConfig Llama(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab = VocabSize) =>
        new(vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads, 1e-6, new RopeSettings(10000), 4096,
            false, false, false, false, 1, 2, null, "llama");

    static readonly AnchorGoal Faster = new(SpeedupOverHf: 1.3);

    /// <summary>The rows of issue 16, in its order.</summary>
    public static IReadOnlyList<AnchorPreset> All { get; } =
    [
        Train("llava-tinyllama1.1b-336-lora64", TinyLlama, 336, 16, "lora", 64, true, new(SpeedupOverHf: 1.3, PeakAtMostHf: true)),
        Train("llava-tinyllama1.1b-224-lora64", TinyLlama, 224, 16, "lora", 64, true, Faster),
        Train("llava-tinyllama1.1b-336-lora64-nockpt", TinyLlama, 336, 16, "lora", 64, false, Faster),
        Train("llava-tinyllama1.1b-336-full", TinyLlama, 336, 16, "full", 0, true, Faster),
        Train("llava-7b-336-lora128", Llama7B, 336, 8, "lora", 128, true, Faster),
        Train("llava-7b-336-qlora128", Llama7B, 336, 8, "qlora", 128, true, new(PeakGiBAtMost: 15, RelativeTo: "llava-7b-336-lora128", SpeedOfRelativeAtLeast: 0.75)),
        Generate("llava-7b-336-generate-b1", Llama7B, 1, new(TokensPerSecondAtLeast: 100)),
        Generate("llava-7b-336-generate-b16", Llama7B, 16, new(TokensPerSecondAtLeast: 1000)),
    ];

    static AnchorPreset Train(string name, LlamaConfig lm, int image, int batch, string method, int rank, bool checkpointing, AnchorGoal goal) =>
        new(name, AnchorKind.Train, lm, ClipLarge(image), batch, 128, method, rank, checkpointing, 0, goal);

    /// <summary>Greedy generation: a 576-token image + 40 text tokens prompt, 128 new tokens (hf_anchor.py's gen()).</summary>
    static AnchorPreset Generate(string name, LlamaConfig lm, int batch, AnchorGoal goal) =>
        new(name, AnchorKind.Generate, lm, ClipLarge(336), batch, 40, "none", 0, false, 128, goal);

    public static AnchorPreset Find(string name) => All.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"unknown preset '{name}' (presets: {string.Join(", ", All.Select(p => p.Name))})");

    /// <summary>
    /// The same row at a size a CPU runs in seconds, keeping its structure (GQA ratio, LoRA vs full vs QLoRA,
    /// checkpointing, image-then-text layout, 336 vs 224 as 4x4 vs 3x3 patches): CPU tests and dry runs of the GPU script.
    /// </summary>
    public AnchorPreset CpuSmall()
    {
        bool gqa = Language.NumKeyValueHeads < Language.NumHeads;
        var lm = Llama(128, 352, 2, 8, gqa ? 1 : 8);
        var vision = new ClipVisionConfig(64, 256, 3, 4, Vision.ImageSize == 224 ? 42 : 56, 14, 3, 1e-5, "quick_gelu");
        return this with
        {
            Language = lm,
            Vision = vision,
            Batch = Math.Max(1, Batch / 8),
            TextTokens = Kind == AnchorKind.Train ? 16 : 8,
            LoraRank = LoraRank == 0 ? 0 : Math.Max(4, LoraRank / 16),
            NewTokens = Kind == AnchorKind.Generate ? 8 : 0,
        };
    }
}
