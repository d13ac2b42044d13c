using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>MM-Vet mm-vet.json (id -> imagename, capability[], question, answer). Capabilities are kept comma-joined in Category.</summary>
public static class MmVetReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot)
    {
        var root = JsonFiles.ReadJson(path);
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected an object of id -> question");
        return root.EnumerateObject().Select(p =>
        {
            var where = $"{path}#{p.Name}";
            var caps = JsonFiles.Field(p.Value, "capability", where);
            if (caps.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: 'capability' must be a list");
            return new EvalSample(p.Name, JsonFiles.Str(p.Value, "question", where),
                DataFiles.ImageAt(imageRoot, path, JsonFiles.Str(p.Value, "imagename", where)), JsonFiles.Str(p.Value, "answer", where),
                Split: split, Category: string.Join(",", caps.EnumerateArray().Select(c => c.GetString()).Distinct()), Origin: where);
        }).ToList();
    }
}
