using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;

namespace MultiLora.Llava.Inspection;

/// <summary>Parameter counts and dtypes per model part, read from safetensors headers alone (no weights loaded).</summary>
public sealed record PartSummary(string Part, long Parameters, long Bytes, IReadOnlyDictionary<string, long> ParametersByDType, int Tensors);

public sealed record CheckpointSummary(string Folder, IReadOnlyList<PartSummary> Parts, IReadOnlyList<(string File, long Bytes)> Files, IReadOnlyDictionary<string, string> Metadata)
{
    public long TotalParameters => Parts.Sum(p => p.Parameters);

    public static CheckpointSummary Read(string folder, Func<string, string>? partOf = null)
    {
        partOf ??= DefaultPart;
        using var checkpoint = SafetensorsCheckpoint.Open(folder);
        var parts = checkpoint.Names
            .GroupBy(n => partOf(n))
            .Select(g =>
            {
                var entries = g.Select(checkpoint.Entry).ToList();
                return new PartSummary(g.Key,
                    entries.Sum(e => e.ElementCount),
                    entries.Sum(e => e.End - e.Begin),
                    entries.GroupBy(e => e.DType).ToDictionary(d => d.Key, d => d.Sum(e => e.ElementCount)),
                    entries.Count);
            })
            .OrderBy(p => p.Part, StringComparer.Ordinal)
            .ToList();
        var files = checkpoint.Files.Select(f => (Path.GetFileName(f.Path), new FileInfo(f.Path).Length)).ToList();
        var metadata = checkpoint.Files.SelectMany(f => f.Metadata).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value);
        return new CheckpointSummary(folder, parts, files, metadata);
    }

    static string DefaultPart(string key)
    {
        if (KeyLayout.IsIgnorable(key)) return "ignored";
        string? name = KeyLayout.MapAny(key);
        if (name is null) return "unrecognised";
        if (name.StartsWith(KeyLayout.VisionRoot, StringComparison.Ordinal)) return "vision tower";
        if (name.StartsWith(KeyLayout.ProjectorRoot, StringComparison.Ordinal)) return "projector";
        if (name.StartsWith(KeyLayout.LmHead, StringComparison.Ordinal)) return "lm head";
        return name.Contains(".layers.", StringComparison.Ordinal) ? "language decoder layers" : "language embeddings/norm";
    }
}
