using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>
/// ScienceQA problems.json (pid -> question, hint, choices[], answer index, image, split), split "test" when the
/// file carries splits. Every test problem is read, since LLaVA's answer file holds them all; problems without an
/// image are optional (the IMG subset is the task's required set; a run asks only those).
/// The image lives at image_root/pid/image, as in the ScienceQA release.
/// </summary>
public static class ScienceQaReader
{
    static readonly string[] Letters = ["A", "B", "C", "D", "E"];

    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot)
    {
        var root = JsonFiles.ReadJson(path);
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected an object of pid -> problem");
        var samples = new List<EvalSample>();
        foreach (var p in root.EnumerateObject())
        {
            var where = $"{path}#{p.Name}";
            var prob = p.Value;
            if (JsonFiles.OptStr(prob, "split") is { } s && s != "test") continue;
            var image = JsonFiles.OptStr(prob, "image");
            var choices = JsonFiles.Field(prob, "choices", where);
            if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() is < 2 or > 5)
                throw new InvalidDataException($"{where}: 'choices' must be a list of 2 to 5 options");
            var options = choices.EnumerateArray().Select((c, i) => new ChoiceOption(Letters[i], c.GetString() ?? "")).ToList();
            var ans = JsonFiles.Field(prob, "answer", where);
            if (ans.ValueKind != JsonValueKind.Number || ans.GetInt32() < 0 || ans.GetInt32() >= options.Count)
                throw new InvalidDataException($"{where}: 'answer' must be an index into choices");
            var imageRootDir = imageRoot ?? Path.GetDirectoryName(path)!;
            samples.Add(new EvalSample(p.Name, JsonFiles.Str(prob, "question", where),
                string.IsNullOrEmpty(image) ? null : MultiLora.Data.Model.ImageSource.FromPath(Path.Combine(imageRootDir, p.Name, image)),
                Letters[ans.GetInt32()], Split: split, Category: JsonFiles.OptStr(prob, "subject"),
                Hint: (JsonFiles.OptStr(prob, "hint") ?? "").Trim(), Options: options, Origin: where, Optional: string.IsNullOrEmpty(image)));
        }
        return samples;
    }
}
