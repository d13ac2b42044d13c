using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiLora.Eval.Running;

/// <summary>One task's outcome: metric -> value (rates in percent; "n", "failed" counts) and how it was scored.</summary>
public sealed record TaskResult(string Task, IReadOnlyDictionary<string, double> Metrics, string Scoring, int Generated);

/// <summary>
/// results.json: { model, adapter, git_commit, started_utc, finished_utc, elapsed_seconds, samples_per_second,
/// config, judge, tasks: { task: { metric: value } }, scoring: { task: text } }, plus results.md (a table).
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
        foreach (var t in Tasks)
        {
            var m = new JsonObject();
            foreach (var (k, v) in t.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) m[k] = Math.Round(v, 6);
            tasks[t.Task] = m;
            scoring[t.Task] = t.Scoring;
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
        foreach (var t in Tasks) sb.AppendLine($"- {t.Task}: {t.Scoring}");
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
            result[task] = mo.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<double>()
                ?? throw new InvalidDataException($"{path}: tasks.{task}.{kv.Key} is not a number"));
        }
        return result;
    }
}
