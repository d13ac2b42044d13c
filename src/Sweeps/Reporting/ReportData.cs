using MultiLora.Sweeps.Registry;
using YamlDotNet.RepresentationModel;

namespace MultiLora.Sweeps.Reporting;

/// <summary>One cell as the report sees it: its axes, its scores (task -> primary metric), its loss curve, its cost.</summary>
public sealed record ReportCell(RunRow Row, IReadOnlyDictionary<string, double> Scores, IReadOnlyList<MetricRow> Steps)
{
    public string Label => Row.Axes.Count == 0 ? Row.Key : string.Join(" ", Row.Axes.Select(kv => kv.Value));
    public string? Axis(string key) => Row.Axes.FirstOrDefault(kv => kv.Key == key).Value;
}

/// <summary>
/// A sweep's cells read back from the registry, and the roles of its axes: method, model size (the first model.*
/// axis), resolution (data.resolution) and text mix (data.text_mix). A role without an axis is read from the
/// cell's recipe (one value for all, so its plot shows a single group or no pairs).
/// </summary>
public sealed class ReportData
{
    public const string MethodKey = "method";
    public const string ResolutionKey = "data.resolution";
    public const string TextMixKey = "data.text_mix";

    public required string Sweep { get; init; }
    public required SweepRow? Info { get; init; }
    public required IReadOnlyList<ReportCell> Cells { get; init; }
    public required IReadOnlyList<RunRow> Shared { get; init; }
    public required IReadOnlyList<string> AxisKeys { get; init; }
    /// <summary>task -> the metric shown for it.</summary>
    public required IReadOnlyDictionary<string, string> TaskMetrics { get; init; }

    public string? ModelKey => AxisKeys.FirstOrDefault(k => k.StartsWith("model.", StringComparison.Ordinal));

    public static ReportData Read(RunRegistry registry, string sweep)
    {
        var runs = registry.Runs(sweep);
        if (runs.Count == 0) throw new InvalidDataException($"{registry.Path}: no runs of sweep '{sweep}' (known: {string.Join(", ", registry.Sweeps())})");
        var cellRows = runs.Where(r => r.Kind == "cell").ToList();
        var evals = cellRows.ToDictionary(r => r.Id, r => registry.Evals(r.Id));
        var taskMetrics = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in evals.Values.SelectMany(e => e).GroupBy(e => e.Task))
            taskMetrics[group.Key] = PrimaryMetric(group.Select(e => e.Metric).Distinct());
        var cells = cellRows.Select(r => new ReportCell(r,
            evals[r.Id].Where(e => taskMetrics.TryGetValue(e.Task, out var m) && m == e.Metric).ToDictionary(e => e.Task, e => e.Value),
            registry.Metrics(r.Id))).ToList();
        var keys = cellRows.SelectMany(r => r.Axes.Select(kv => kv.Key)).Distinct().ToList();
        return new ReportData { Sweep = sweep, Info = registry.Sweep(sweep), Cells = cells, Shared = runs.Where(r => r.Kind != "cell").ToList(), AxisKeys = keys, TaskMetrics = taskMetrics };
    }

    /// <summary>The headline metric: accuracy or exact match where a task has them, else its first metric that is not a count or a breakdown.</summary>
    static string PrimaryMetric(IEnumerable<string> metrics)
    {
        var list = metrics.Order(StringComparer.Ordinal).ToList();
        return list.FirstOrDefault(m => m == "accuracy") ?? list.FirstOrDefault(m => m == "exact_match")
            ?? list.FirstOrDefault(m => m is not ("n" or "failed") && !m.StartsWith("category_", StringComparison.Ordinal)) ?? list[0];
    }

    /// <summary>The cell's value of a recipe key: its axis value, else the value in its resolved recipe.</summary>
    public static string Value(ReportCell cell, string key) => cell.Axis(key) ?? RecipeValue(cell.Row.Recipe, key) ?? "";

    static string? RecipeValue(string recipeYaml, string key)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(recipeYaml)) stream.Load(reader);
        YamlNode? node = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
        foreach (var part in key.Split('.'))
            node = node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(part), out var child) ? child : null;
        return (node as YamlScalarNode)?.Value;
    }
}
