using System.Text.Json;

namespace MultiLora.Eval.Samples;

/// <summary>
/// LLaVA-Bench (In-the-Wild): questions.jsonl (question_id, image, text, category), the reference answers
/// (answers_gpt4.jsonl: question_id, text) and context.jsonl (image, caption: list or text) for the judge.
/// </summary>
public static class LlavaBenchReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot, string referencesPath, string? contextPath)
    {
        var refs = new Dictionary<string, string>();
        foreach (var (row, line) in JsonFiles.ReadJsonl(referencesPath))
            refs[JsonFiles.Id(row, "question_id", $"{referencesPath}:{line}")] = JsonFiles.Str(row, "text", $"{referencesPath}:{line}");
        var contexts = new Dictionary<string, string>();
        if (contextPath is not null)
            foreach (var (row, line) in JsonFiles.ReadJsonl(contextPath))
            {
                var where = $"{contextPath}:{line}";
                var cap = JsonFiles.Field(row, "caption", where);
                contexts[JsonFiles.Str(row, "image", where)] = cap.ValueKind == JsonValueKind.Array
                    ? string.Join("\n", cap.EnumerateArray().Select(c => c.GetString())) : cap.GetString() ?? "";
            }
        var samples = new List<EvalSample>();
        foreach (var (row, line) in JsonFiles.ReadJsonl(path))
        {
            var where = $"{path}:{line}";
            var id = JsonFiles.Id(row, "question_id", where);
            var image = JsonFiles.Str(row, "image", where);
            samples.Add(new EvalSample(id, JsonFiles.Str(row, "text", where), DataFiles.ImageAt(imageRoot, path, image),
                refs.TryGetValue(id, out var r) ? r : throw new InvalidDataException($"{referencesPath}: no reference answer for question_id {id}"),
                Split: split, Category: JsonFiles.OptStr(row, "category") ?? "default",
                Context: contexts.GetValueOrDefault(image, ""), Origin: where));
        }
        return samples;
    }
}
