namespace MultiLora.Eval.Samples;

/// <summary>
/// POPE, in either layout LLaVA's eval_pope.py reads:
/// a label file (POPE's coco_pope_{category}.json: question_id, image, text, label), whose category is the file name
/// between "coco_pope_" and the extension; or LLaVA's combined question file (llava_pope_test.jsonl: question_id,
/// image, text, category; no labels), whose labels come from the label folder: the k-th question of a category is the
/// k-th line of coco_pope_{category}.json, which is how the script pairs them (it zips the two in order), so the
/// images of every pair are checked to agree. The category is the sample's split (metrics per category).
/// </summary>
public static class PopeReader
{
    public const string LabelFilePrefix = "coco_pope_";

    /// <param name="qualifyIds">prefix ids with the category (several label files number their questions from 1 each).</param>
    public static IReadOnlyList<EvalSample> Read(string path, string? imageRoot, string? labelFolder, bool qualifyIds)
    {
        var rows = JsonFiles.ReadJsonl(path).ToList();
        if (rows.Count > 0 && !rows[0].Row.TryGetProperty("label", out _))
            return ReadCombined(path, rows, imageRoot, labelFolder ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "coco"));
        var category = CategoryOf(path);
        return rows.Select(r =>
        {
            var where = $"{path}:{r.Line}";
            var id = JsonFiles.Id(r.Row, "question_id", where);
            return new EvalSample(qualifyIds ? category + "/" + id : id, JsonFiles.Str(r.Row, "text", where),
                DataFiles.ImageAt(imageRoot, path, JsonFiles.Str(r.Row, "image", where)), Label(r.Row, where),
                Split: JsonFiles.OptStr(r.Row, "category") ?? category, Origin: where);
        }).ToList();
    }

    /// <summary>eval_pope.py: category = file[10:-5] of coco_pope_{category}.json.</summary>
    public static string CategoryOf(string labelFile)
    {
        var name = Path.GetFileNameWithoutExtension(labelFile);
        return name.StartsWith(LabelFilePrefix, StringComparison.Ordinal) ? name[LabelFilePrefix.Length..] : name;
    }

    static string Label(System.Text.Json.JsonElement row, string where)
    {
        var label = JsonFiles.Str(row, "label", where);
        return label is "yes" or "no" ? label : throw new InvalidDataException($"{where}: label must be 'yes' or 'no', got '{label}'");
    }

    static List<EvalSample> ReadCombined(string path, List<(System.Text.Json.JsonElement Row, int Line)> rows, string? imageRoot, string labelFolder)
    {
        var labels = new Dictionary<string, List<(string Image, string Label, string Where)>>();
        var taken = new Dictionary<string, int>();
        var samples = new List<EvalSample>();
        foreach (var (row, line) in rows)
        {
            var where = $"{path}:{line}";
            var category = JsonFiles.Str(row, "category", where);
            if (!labels.TryGetValue(category, out var list))
            {
                var labelFile = Path.Combine(labelFolder, LabelFilePrefix + category + ".json");
                if (!File.Exists(labelFile))
                    throw new FileNotFoundException($"{where}: category '{category}' needs its label file {labelFile} (LLaVA's pope/coco folder; task key 'annotations')", labelFile);
                labels[category] = list = JsonFiles.ReadJsonl(labelFile)
                    .Select(l => (JsonFiles.Str(l.Row, "image", $"{labelFile}:{l.Line}"), Label(l.Row, $"{labelFile}:{l.Line}"), $"{labelFile}:{l.Line}")).ToList();
                taken[category] = 0;
            }
            var k = taken[category]++;
            var image = JsonFiles.Str(row, "image", where);
            if (k >= list.Count)
                throw new InvalidDataException($"{where}: question {k + 1} of category '{category}' has no label line (the label file has {list.Count})");
            if (list[k].Image != image)
                throw new InvalidDataException($"{where}: image '{image}' but the label it pairs with ({list[k].Where}) is for '{list[k].Image}'; the question and label files do not belong together");
            samples.Add(new EvalSample(JsonFiles.Id(row, "question_id", where), JsonFiles.Str(row, "text", where),
                DataFiles.ImageAt(imageRoot, path, image), list[k].Label, Split: category, Origin: where));
        }
        foreach (var (category, list) in labels)
            if (taken[category] != list.Count)
                throw new InvalidDataException($"{path}: category '{category}' has {taken[category]} questions but {list[taken[category]].Where} and later label lines have none");
        return samples;
    }
}
