using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>
/// GQA questions JSON (qid -> imageId, question, answer, isBalanced, types{structural, semantic}); image
/// imageId.jpg (or imageId itself when it has an extension). As GQA's eval.py does, only balanced questions are
/// scored (a missing isBalanced counts as balanced); the others are optional. Category = structural type,
/// Category2 = semantic type.
/// </summary>
public static class GqaReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot)
    {
        var root = JsonFiles.ReadJson(path);
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected an object of question id -> question");
        return root.EnumerateObject().Select(p =>
        {
            var where = $"{path}#{p.Name}";
            var balanced = !p.Value.TryGetProperty("isBalanced", out var b) || b.ValueKind != JsonValueKind.False;
            string? structural = null, semantic = null;
            if (p.Value.TryGetProperty("types", out var types) && types.ValueKind == JsonValueKind.Object)
            {
                structural = JsonFiles.OptStr(types, "structural");
                semantic = JsonFiles.OptStr(types, "semantic");
            }
            return new EvalSample(p.Name, JsonFiles.Str(p.Value, "question", where),
                DataFiles.ImageAt(imageRoot, path, ImageFile(JsonFiles.Str(p.Value, "imageId", where))),
                JsonFiles.Str(p.Value, "answer", where), Split: split, Category: structural, Category2: semantic,
                Origin: where, Optional: !balanced);
        }).ToList();
    }

    static string ImageFile(string imageId) => Path.HasExtension(imageId) ? imageId : imageId + ".jpg";
}
