using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Running;

/// <summary>
/// One task's outcome: metric -> value (rates in percent; "n", "failed" counts, "coverage" in percent), how it was
/// scored (text, scorer name, the reference implementations it reproduces) and warnings about the input.
/// </summary>
public sealed record TaskResult(
    string Task,
    IReadOnlyDictionary<string, double> Metrics,
    string Scoring,
    int Generated,
    string Scorer = "",
    IReadOnlyList<ReferenceImplementation>? Reproduces = null,
    IReadOnlyList<string>? Warnings = null)
{
    public int Total => (int)Metrics.GetValueOrDefault("n");
    public int Answered => Total - (int)Metrics.GetValueOrDefault("failed");
}

/// <summary>
/// results.json: { model, adapter, git_commit, started_utc, finished_utc, elapsed_seconds, samples_per_second,
/// config, judge, tasks: { task: { metric: value } }, scoring: { task: text }, scorers: { task: name },
/// coverage: { task: { answered, total } }, reproduces: { task: [ { repository, commit, files } ] },
/// warnings: { task: [ text ] } }, plus results.md (a table). Readers of older files need only "tasks".
/// </summary>
public sealed record RunResults(
    string Model,
    string? Adapter,
    string? GitCommit,
    DateTimeOffset StartedUtc,
    DateTimeOffset FinishedUtc,
    double SamplesPerSecond,
    IReadOnlyDictionary<string, string> Config,
    string? Judge,
    IReadOnlyList<TaskResult> Tasks)
{
    public JsonObject ToJson()
    {
        var tasks = new JsonObject();
        var scoring = new JsonObject();
        var scorers = new JsonObject();
        var coverage = new JsonObject();
        var reproduces = new JsonObject();
        var warnings = new JsonObject();
        foreach (var t in Tasks)
        {
            var m = new JsonObject();
            // A NaN (a judge reply of "nan" passes MM-Vet's range check) is written as null rather than breaking the file.
            foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) m[k] = double.IsFinite(v) ? Math.Round(v, 6) : null;
            tasks[t.Task] = m;
            scoring[t.Task] = t.Scoring;
            scorers[t.Task] = t.Scorer;
            coverage[t.Task] = new JsonObject { ["answered"] = t.Answered, ["total"] = t.Total };
            reproduces[t.Task] = new JsonArray((t.Reproduces ?? []).Select(r => (JsonNode)new JsonObject
            {
                ["repository"] = r.Repository, ["commit"] = r.Commit, ["files"] = new JsonArray(r.Files.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
            }).ToArray());
            if (t.Warnings is { Count: > 0 } w) warnings[t.Task] = new JsonArray(w.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
        }
        var config = new JsonObject();
        foreach (var (k, v) in Config) config[k] = v;
        return new JsonObject
        {
            ["model"] = Model,
            ["adapter"] = Adapter,
            ["git_commit"] = GitCommit,
            ["started_utc"] = StartedUtc.ToString("O", CultureInfo.InvariantCulture),
            ["finished_utc"] = FinishedUtc.ToString("O", CultureInfo.InvariantCulture),
            ["elapsed_seconds"] = Math.Round((FinishedUtc - StartedUtc).TotalSeconds, 3),
            ["samples_per_second"] = Math.Round(SamplesPerSecond, 4),
            ["config"] = config,
            ["judge"] = Judge,
            ["tasks"] = tasks,
            ["scoring"] = scoring,
            ["scorers"] = scorers,
            ["coverage"] = coverage,
            ["reproduces"] = reproduces,
            ["warnings"] = warnings,
        };
    }

    public void Write(string folder) =>
        WriteTo(Path.Combine(folder, EvalRunOptions.ResultsFile), Path.Combine(folder, EvalRunOptions.MarkdownFile));

    public void WriteTo(string jsonPath, string markdownPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        File.WriteAllText(jsonPath, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(markdownPath, ToMarkdown());
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Eval results: {Model}");
        sb.AppendLine();
        if (Adapter is not null) sb.AppendLine($"- adapter: {Adapter}");
        if (GitCommit is not null) sb.AppendLine($"- commit: {GitCommit}");
        sb.AppendLine($"- finished: {FinishedUtc:u}, {SamplesPerSecond:0.###} samples/s");
        if (Judge is not null) sb.AppendLine($"- judge: {Judge}");
        sb.AppendLine();
        sb.AppendLine("| task | metric | value |");
        sb.AppendLine("|---|---|---:|");
        foreach (var t in Tasks)
            foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.AppendLine($"| {t.Task} | {k} | {v.ToString("0.##", CultureInfo.InvariantCulture)} |");
        sb.AppendLine();
        sb.AppendLine("| task | answered / total | coverage | scorer | reproduces |");
        sb.AppendLine("|---|---:|---:|---|---|");
        foreach (var t in Tasks)
            sb.AppendLine($"| {t.Task} | {t.Answered} / {t.Total} | {t.Metrics.GetValueOrDefault("coverage").ToString("0.##", CultureInfo.InvariantCulture)}% | {t.Scorer} | " +
                          $"{string.Join("; ", (t.Reproduces ?? []).Select(r => r.ToString()))} |");
        sb.AppendLine();
        foreach (var t in Tasks)
        {
            sb.AppendLine($"- {t.Task}: {t.Scoring}");
            foreach (var w in t.Warnings ?? []) sb.AppendLine($"  - WARNING: {w}");
        }
        return sb.ToString();
    }

    /// <summary>task -> metric -> value of a results.json (for compare).</summary>
    public static Dictionary<string, Dictionary<string, double>> ReadMetrics(string pathOrFolder)
    {
        var path = Directory.Exists(pathOrFolder) ? Path.Combine(pathOrFolder, EvalRunOptions.ResultsFile) : pathOrFolder;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: results file not found", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
        if (root?["tasks"] is not JsonObject tasks) throw new InvalidDataException($"{path}: no 'tasks' object");
        var result = new Dictionary<string, Dictionary<string, double>>();
        foreach (var (task, metrics) in tasks)
        {
            if (metrics is not JsonObject mo) throw new InvalidDataException($"{path}: tasks.{task} is not an object");
            result[task] = mo.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue v && v.TryGetValue<double>(out var d) ? d
                : throw new InvalidDataException($"{path}: tasks.{task}.{kv.Key} is not a number"));
        }
        return result;
    }
}
