namespace MultiLora.Eval.Samples;

/// <summary>POPE question JSONL: question_id, image, text, label ("yes"/"no"), optional category.</summary>
public static class PopeReader
{
    public static IReadOnlyList<EvalSample> Read(string path, string split, string? imageRoot)
    {
        var samples = new List<EvalSample>();
        foreach (var (row, line) in JsonFiles.ReadJsonl(path))
        {
            var where = $"{path}:{line}";
            var label = JsonFiles.Str(row, "label", where).Trim().ToLowerInvariant();
            if (label is not ("yes" or "no")) throw new InvalidDataException($"{where}: label must be 'yes' or 'no', got '{label}'");
            samples.Add(new EvalSample(JsonFiles.Id(row, "question_id", where), JsonFiles.Str(row, "text", where),
                DataFiles.ImageAt(imageRoot, path, JsonFiles.Str(row, "image", where)), label,
                Split: split, Category: JsonFiles.OptStr(row, "category"), Origin: where));
        }
        return samples;
    }
}
