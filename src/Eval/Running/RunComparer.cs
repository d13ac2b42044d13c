namespace MultiLora.Eval.Running;

/// <summary>One metric of two runs side by side; a value missing from one run is null.</summary>
public sealed record MetricDelta(string Task, string Metric, double? A, double? B)
{
    public double? Delta => A is { } a && B is { } b ? b - a : null;
}

/// <summary>Per-task, per-metric deltas between two results.json (B - A).</summary>
public static class RunComparer
{
    public static IReadOnlyList<MetricDelta> Compare(string runA, string runB)
    {
        var a = RunResults.ReadMetrics(runA);
        var b = RunResults.ReadMetrics(runB);
        var rows = new List<MetricDelta>();
        foreach (var task in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            var ma = a.GetValueOrDefault(task) ?? [];
            var mb = b.GetValueOrDefault(task) ?? [];
            foreach (var metric in ma.Keys.Union(mb.Keys).Order(StringComparer.Ordinal))
                rows.Add(new MetricDelta(task, metric, ma.TryGetValue(metric, out var va) ? va : null, mb.TryGetValue(metric, out var vb) ? vb : null));
        }
        return rows;
    }
}
