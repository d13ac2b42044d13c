using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Samples;

/// <summary>Reads a task's samples from its official files; <c>limit</c> keeps the first N groups (questions), so circular rotations stay whole.</summary>
public static class SampleReader
{
    public static IReadOnlyList<EvalSample> Read(TaskDefinition task, string dataRoot, string? dataOverride = null, int? limit = null)
    {
        var imageRoot = task.ImageRoot is null ? null : DataFiles.Resolve(dataRoot, task.ImageRoot);
        // With an explicit data file (`eval score`), companion files not found under the data root are looked
        // for beside it by name (answers_gpt4.jsonl next to questions.jsonl).
        string? Aux(string? p)
        {
            if (p is null) return null;
            var resolved = DataFiles.Resolve(dataRoot, p);
            if (dataOverride is null || Path.Exists(resolved)) return resolved;
            var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dataOverride))!, Path.GetFileName(p));
            return Path.Exists(sibling) ? sibling : resolved;
        }
        IReadOnlyList<(string Path, string Split)> files = dataOverride is not null ? [(dataOverride, "")] : DataFiles.Expand(dataRoot, task.Data);
        var samples = new List<EvalSample>();
        foreach (var (file, split) in files)
            samples.AddRange(task.Format switch
            {
                "mmbench_tsv" => MmbenchTsvReader.Read(file, split, task.Circular),
                "pope_jsonl" => PopeReader.Read(file, imageRoot, Aux(task.Annotations), qualifyIds: files.Count > 1),
                "scienceqa_json" => ScienceQaReader.Read(file, split, imageRoot),
                "vqa_json" => VqaReader.Read(file, split, imageRoot, Aux(task.Annotations)),
                "gqa_json" => GqaReader.Read(file, split, imageRoot),
                "llava_bench_jsonl" => LlavaBenchReader.Read(file, split, imageRoot,
                    Aux(task.References) ?? throw new InvalidDataException($"{task.Origin}: format llava_bench_jsonl needs key 'references'"), Aux(task.Context)),
                "mmvet_json" => MmVetReader.Read(file, split, imageRoot),
                _ => throw new InvalidDataException($"{task.Origin}: unknown format '{task.Format}'"),
            });
        var dup = samples.GroupBy(s => s.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new InvalidDataException($"{task.Name}: sample id '{dup.Key}' occurs twice ({dup.First().Origin}, {dup.Last().Origin})");
        if (limit is null) return samples;
        var keep = samples.Select(s => s.GroupKey).Distinct().Take(limit.Value).ToHashSet();
        return samples.Where(s => keep.Contains(s.GroupKey)).ToList();
    }
}
