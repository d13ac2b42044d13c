using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>GQA questions JSON (qid -> imageId, question, answer); image imageId.jpg (or imageId itself when it has an extension).</summary>
public static class GqaReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot)
    {
        var root = JsonFiles.ReadJson(path);
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected an object of question id -> question");
        return root.EnumerateObject().Select(p =>
        {
            var where = $"{path}#{p.Name}";
            return new EvalSample(p.Name, JsonFiles.Str(p.Value, "question", where),
                DataFiles.ImageAt(imageRoot, path, ImageFile(JsonFiles.Str(p.Value, "imageId", where))),
                JsonFiles.Str(p.Value, "answer", where), Split: split, Origin: where);
        }).ToList();
    }

    static string ImageFile(string imageId) => Path.HasExtension(imageId) ? imageId : imageId + ".jpg";
}
