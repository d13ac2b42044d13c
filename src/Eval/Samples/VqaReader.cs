using System.Globalization;
using System.Text.Json;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Samples;

/// <summary>
/// VQA-style files with annotator answers, in their official layouts:
/// TextVQA {"data": [{question_id, question, image_id, answers[10]}]} (image image_id.jpg);
/// VQAv2 questions file {"data_subtype", "questions": [...]} plus the annotations file (answers[].answer, answer_type),
/// image COCO_{data_subtype}_{image_id:012}.jpg; VizWiz [{image, question, answers[{answer}], answer_type}] (id = image).
/// Category = answer_type where the file has one.
/// </summary>
public static class VqaReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot, string? annotationsPath)
    {
        var root = JsonFiles.ReadJson(path);
        if (root.ValueKind == JsonValueKind.Array) return VizWiz(root, path, split, imageRoot);
        if (root.TryGetProperty("data", out var data)) return TextVqa(data, path, split, imageRoot);
        if (root.TryGetProperty("questions", out var questions)) return Vqav2(root, questions, path, split, imageRoot, annotationsPath);
        throw new InvalidDataException($"{path}: not a VQA file (expected a list, or an object with 'data' or 'questions')");
    }

    /// <summary>The key LLaVA's eval_textvqa.py joins an answer on: (image id, question.lower()).</summary>
    public static string TextVqaKey(string imageId, string question) => imageId + "\n" + PyStr.Lower(question);

    /// <summary>
    /// TextVQA. An answer file row is joined on (image id, lower-cased question) like LLaVA's evaluator, whose dict
    /// keeps the last of several annotations sharing that key: such questions are scored against that one's answers.
    /// </summary>
    static List<EvalSample> TextVqa(JsonElement data, string path, string split, string? imageRoot)
    {
        var samples = data.EnumerateArray().Select((row, i) =>
        {
            var where = $"{path}#{i}";
            var imageId = JsonFiles.Str(row, "image_id", where);
            var question = JsonFiles.Str(row, "question", where);
            return new EvalSample(JsonFiles.Id(row, "question_id", where), question,
                DataFiles.ImageAt(imageRoot, path, imageId + ".jpg"), "",
                Split: split, Answers: Answers(row, where), Origin: where, JoinKey: TextVqaKey(imageId, question));
        }).ToList();
        var last = new Dictionary<string, EvalSample>();
        foreach (var s in samples) last[s.JoinKey!] = s;
        return samples.Select(s => ReferenceEquals(last[s.JoinKey!], s) ? s : s with { Answers = last[s.JoinKey!].Answers }).ToList();
    }

    static List<EvalSample> VizWiz(JsonElement rows, string path, string split, string? imageRoot) =>
        rows.EnumerateArray().Select((row, i) =>
        {
            var where = $"{path}#{i}";
            var image = JsonFiles.Str(row, "image", where);
            return new EvalSample(image, JsonFiles.Str(row, "question", where), DataFiles.ImageAt(imageRoot, path, image), "",
                Split: split, Category: JsonFiles.OptStr(row, "answer_type"), Answers: Answers(row, where), Origin: where);
        }).ToList();

    static List<EvalSample> Vqav2(JsonElement root, JsonElement questions, string path, string split, string? imageRoot, string? annotationsPath)
    {
        if (annotationsPath is null) throw new InvalidDataException($"{path}: a VQAv2 questions file needs the task key 'annotations' (the annotations file)");
        var ann = JsonFiles.ReadJson(annotationsPath);
        var answers = JsonFiles.Field(ann, "annotations", annotationsPath).EnumerateArray()
            .Select((a, i) => (Id: JsonFiles.Id(a, "question_id", $"{annotationsPath}#{i}"), Answers: Answers(a, $"{annotationsPath}#{i}"),
                Type: JsonFiles.OptStr(a, "answer_type")))
            .ToDictionary(a => a.Id, a => (a.Answers, a.Type));
        var subtype = JsonFiles.OptStr(root, "data_subtype") ?? "val2014";
        return questions.EnumerateArray().Select((q, i) =>
        {
            var where = $"{path}#{i}";
            var id = JsonFiles.Id(q, "question_id", where);
            var imageId = long.Parse(JsonFiles.Id(q, "image_id", where), CultureInfo.InvariantCulture);
            var (a, type) = answers.TryGetValue(id, out var found) ? found
                : throw new InvalidDataException($"{annotationsPath}: no annotation for question_id {id}");
            return new EvalSample(id, JsonFiles.Str(q, "question", where),
                DataFiles.ImageAt(imageRoot, path, $"COCO_{subtype}_{imageId:D12}.jpg"), "", Split: split, Category: type,
                Answers: a, Origin: where);
        }).ToList();
    }

    /// <summary>answers as plain strings or as {answer: ...} objects.</summary>
    static List<string> Answers(JsonElement row, string where)
    {
        var list = JsonFiles.Field(row, "answers", where);
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0) throw new InvalidDataException($"{where}: 'answers' must be a non-empty list");
        return list.EnumerateArray().Select(a => a.ValueKind == JsonValueKind.String ? a.GetString()! : JsonFiles.Str(a, "answer", where)).ToList();
    }
}
