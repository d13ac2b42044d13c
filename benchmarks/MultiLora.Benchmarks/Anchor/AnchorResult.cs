using System.Text.Json;
using System.Text.Json.Serialization;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>
/// One measured row, ours or transformers' (benchmarks/gpu/hf_anchor.py writes the same fields, snake_case JSON),
/// so the comparison table reads both with one type. Peaks in GiB (2^30 bytes); null where not measured.
/// </summary>
public sealed record AnchorResult
{
    public required string Name { get; init; }
    public string Framework { get; init; } = "multilora";
    public string Kind { get; init; } = "train";
    public string? Device { get; init; }
    public int Batch { get; init; }
    public int Seq { get; init; }
    public int Img { get; init; }
    public int LoraR { get; init; }
    public bool GradCkpt { get; init; }
    public string? Method { get; init; }
    /// <summary>Median step time over the timed steps (train).</summary>
    public double? StepS { get; init; }
    public double? SamplesPerS { get; init; }
    public double? TokensPerS { get; init; }
    /// <summary>The caching allocator's peak of allocated bytes (torch.cuda.max_memory_allocated).</summary>
    public double? PeakGib { get; init; }
    /// <summary>The driver's used-memory peak (NVML, sampled), CUDA context and allocator reserve included.</summary>
    public double? PeakDeviceUsedGib { get; init; }
    /// <summary>CPU runs: the process's resident peak over the preset.</summary>
    public double? PeakRssGib { get; init; }
    public double? ParamsB { get; init; }
    public double? TrainableM { get; init; }
    public double? MatmulPeakTflops { get; init; }
    public double? Mfu { get; init; }
    public double? FinalLoss { get; init; }
    public int? NewTokens { get; init; }
    public double? TotalS { get; init; }
    public double? GenTokensPerS { get; init; }
    public List<double>? StepTimes { get; init; }
    public string? Memory { get; init; }
    public string? Error { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>Reads a JSON array of rows, or JSON lines (one row per line), as either side writes them.</summary>
    public static List<AnchorResult> ReadAll(string path)
    {
        string text = File.ReadAllText(path).Trim();
        if (text.Length == 0) return [];
        try
        {
            if (text.StartsWith('['))
                return JsonSerializer.Deserialize<List<AnchorResult>>(text, Json) ?? [];
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => JsonSerializer.Deserialize<AnchorResult>(line, Json) ?? throw new InvalidDataException("null row")).ToList();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a JSON array or JSON lines of benchmark rows ({e.Message})");
        }
    }

    public const double GiB = 1L << 30;
}
