using System.Globalization;
using System.Text;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Reporting;

/// <summary>
/// OUT/report.md (what was run, then the paper's table: one row per cell with its axes, each task's score and
/// its cost) and the figures, each a PNG with the CSV of its numbers: score against device-hours coloured by
/// method, score by method per model size, the resolution and text-mix effects (cells that differ in that axis
/// alone, the delta per pair), and the training loss of every cell. Every number is read from the registry.
/// </summary>
public static class SweepReport
{
    public const string FileName = "report.md";

    public static IReadOnlyList<string> Write(RunRegistry registry, string sweep, string outDir)
    {
        var data = ReportData.Read(registry, sweep);
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        var figures = new StringBuilder();
        void Figure(string name, string caption, Action<string> draw)
        {
            string png = Path.Combine(outDir, name + ".png");
            draw(outDir);
            files.Add(png);
            files.Add(Path.Combine(outDir, name + ".csv"));
            figures.AppendLine($"![{caption}]({name}.png)").AppendLine().AppendLine($"{caption} (data: [{name}.csv]({name}.csv))").AppendLine();
        }
        var notes = new List<string>();

        foreach (var (task, metric) in data.TaskMetrics)
        {
            Figure($"score-vs-cost-{task}", $"{task} {metric} against training cost (device-hours), by method", d => ScoreVsCost(data, d, task, metric));
            Figure($"score-by-method-{task}", $"{task} {metric} by method per model size (mean over the other axes)", d => ScoreByMethod(data, d, task, metric));
            foreach (var (key, name, label) in new[] { (ReportData.ResolutionKey, "resolution-effect", "resolution"), (ReportData.TextMixKey, "text-mix-effect", "text-only mix") })
            {
                var pairs = Pairs(data, key, task);
                if (pairs.Count == 0) { notes.Add($"no {label} figure for {task}: no two cells differ in {key} alone"); continue; }
                Figure($"{name}-{task}", $"{label} effect on {task} {metric}: higher {key} minus lower, per pair of cells", d => DrawPairs(data, d, $"{name}-{task}", key, task, metric, pairs));
            }
        }
        Figure("loss-curves", "training loss per cell", d => LossCurves(data, d));

        string report = Path.Combine(outDir, FileName);
        File.WriteAllText(report, Markdown(data, figures.ToString(), notes));
        files.Insert(0, report);
        return files;
    }

    static string Markdown(ReportData data, string figures, List<string> notes)
    {
        var sb = new StringBuilder();
        var cells = data.Cells;
        sb.AppendLine($"# Sweep {data.Sweep}").AppendLine();
        sb.AppendLine($"- grid: {data.Info?.GridFile ?? "(not recorded)"}");
        sb.AppendLine($"- launcher: {data.Info?.Launcher ?? "(not recorded)"}");
        var commits = cells.Select(c => c.Row.GitCommit).Concat(data.Shared.Select(s => s.GitCommit)).Where(c => c is not null).Distinct().ToList();
        sb.AppendLine($"- multilora commit: {(commits.Count == 0 ? "(unknown)" : string.Join(", ", commits))}");
        sb.AppendLine($"- hardware: {data.Info?.Hardware ?? "(not recorded)"}; devices: {string.Join(", ", cells.Select(c => c.Row.Device).Distinct())}");
        sb.AppendLine($"- cells: {cells.Count} ({cells.Count(c => c.Row.Status == RunStatus.Done)} done, {cells.Count(c => c.Row.Status == RunStatus.Failed)} failed); shared runs (base / stage 1): {data.Shared.Count}");
        sb.AppendLine($"- scores: {string.Join(", ", data.TaskMetrics.Select(kv => $"{kv.Key} {kv.Value}"))}; cost: training wall time x devices (device-hours), samples/s over training, process peak memory");
        sb.AppendLine();

        var header = new List<string>(data.AxisKeys);
        header.AddRange(data.TaskMetrics.Keys);
        header.AddRange(["final loss", "tokens", "device-h", "samples/s", "peak MiB", "status"]);
        sb.AppendLine("| " + string.Join(" | ", header) + " |");
        sb.AppendLine("| " + string.Join(" | ", header.Select((_, i) => i < data.AxisKeys.Count || i == header.Count - 1 ? "---" : "---:")) + " |");
        foreach (var c in cells)
        {
            var row = data.AxisKeys.Select(k => c.Axis(k) ?? "").ToList();
            row.AddRange(data.TaskMetrics.Keys.Select(t => c.Scores.TryGetValue(t, out var v) ? F(v, "0.0") : ""));
            row.Add(c.Steps.Count == 0 ? "" : F(c.Steps[^1].Loss, "0.000"));
            row.Add(c.Row.Tokens.ToString("N0", CultureInfo.InvariantCulture));
            row.Add(F(c.Row.DeviceHours, "0.0000"));
            row.Add(F(c.Row.SamplesPerSecond, "0.0"));
            row.Add(c.Row.PeakMemoryBytes is { } p ? F(p / 1048576.0, "0") : "");
            row.Add(c.Row.Status == RunStatus.Failed ? $"failed: {c.Row.Error}" : c.Row.Status);
            sb.AppendLine("| " + string.Join(" | ", row.Select(x => x.Replace("|", "\\|"))) + " |");
        }
        sb.AppendLine();
        if (data.Shared.Count > 0)
        {
            sb.AppendLine("Shared runs:").AppendLine();
            sb.AppendLine("| run | axes | status | device-h | peak MiB |");
            sb.AppendLine("| --- | --- | --- | ---: | ---: |");
            foreach (var s in data.Shared)
                sb.AppendLine($"| {s.Key} | {string.Join(" ", s.Axes.Select(kv => $"{kv.Key}={kv.Value}"))} | {s.Status} | {F(s.DeviceHours, "0.0000")} | {(s.PeakMemoryBytes is { } p ? F(p / 1048576.0, "0") : "")} |");
            sb.AppendLine();
        }
        sb.AppendLine("## Figures").AppendLine();
        sb.Append(figures);
        foreach (var n in notes) sb.AppendLine($"- {n}");
        return sb.ToString();
    }

    static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    static void ScoreVsCost(ReportData data, string dir, string task, string metric)
    {
        var points = data.Cells.Where(c => c.Scores.ContainsKey(task)).Select(c => (Method: ReportData.Value(c, ReportData.MethodKey), Cell: c)).ToList();
        string name = $"score-vs-cost-{task}";
        Csv.Write(Path.Combine(dir, name + ".csv"), ["cell", "method", "device_hours", metric],
            points.Select(p => (IReadOnlyList<object?>)[p.Cell.Row.Key, p.Method, p.Cell.Row.DeviceHours, p.Cell.Scores[task]]));
        Plots.Scatter(Path.Combine(dir, name + ".png"), $"{task}: {metric} vs training cost", "device-hours (training wall time x devices)", metric,
            points.Select(p => (p.Method, p.Cell.Row.DeviceHours, p.Cell.Scores[task])));
    }

    static void ScoreByMethod(ReportData data, string dir, string task, string metric)
    {
        string modelKey = data.ModelKey ?? "model.path";
        var scored = data.Cells.Where(c => c.Scores.ContainsKey(task)).ToList();
        var models = scored.Select(c => ReportData.Value(c, modelKey)).Distinct().ToList();
        var methods = scored.Select(c => ReportData.Value(c, ReportData.MethodKey)).Distinct().ToList();
        var means = new Dictionary<(string, string), (double Mean, int N)>();
        foreach (var g in scored.GroupBy(c => (ReportData.Value(c, modelKey), ReportData.Value(c, ReportData.MethodKey))))
            means[g.Key] = (g.Average(c => c.Scores[task]), g.Count());
        string name = $"score-by-method-{task}";
        Csv.Write(Path.Combine(dir, name + ".csv"), [modelKey, "method", $"mean_{metric}", "cells"],
            means.Select(kv => (IReadOnlyList<object?>)[kv.Key.Item1, kv.Key.Item2, kv.Value.Mean, kv.Value.N]));
        Plots.GroupedBars(Path.Combine(dir, name + ".png"), $"{task}: {metric} by method per {modelKey}", metric, models, methods,
            (m, meth) => means.TryGetValue((m, meth), out var v) ? v.Mean : null);
    }

    /// <summary>A pair of cells equal in every axis but <see cref="key"/>: the lowest value against each higher one.</summary>
    sealed record Pair(ReportCell Low, ReportCell High, string Label);

    static List<Pair> Pairs(ReportData data, string key, string task)
    {
        if (!data.AxisKeys.Contains(key)) return [];
        var pairs = new List<Pair>();
        var others = data.AxisKeys.Where(k => k != key).ToList();
        foreach (var g in data.Cells.Where(c => c.Scores.ContainsKey(task) && c.Axis(key) is not null)
                     .GroupBy(c => string.Join(" ", others.Select(k => c.Axis(k) ?? ""))))
        {
            var ordered = g.OrderBy(c => double.Parse(c.Axis(key)!, CultureInfo.InvariantCulture)).ToList();
            for (int i = 1; i < ordered.Count; i++)
                pairs.Add(new Pair(ordered[0], ordered[i], g.Key.Length == 0 ? $"{ordered[0].Axis(key)}->{ordered[i].Axis(key)}" : g.Key + (ordered.Count > 2 ? $" ({ordered[i].Axis(key)})" : "")));
        }
        return pairs;
    }

    static void DrawPairs(ReportData data, string dir, string name, string key, string task, string metric, List<Pair> pairs)
    {
        Csv.Write(Path.Combine(dir, name + ".csv"), ["pair", "method", $"low_{key}", $"high_{key}", $"low_{metric}", $"high_{metric}", "delta"],
            pairs.Select(p => (IReadOnlyList<object?>)[p.Label, ReportData.Value(p.Low, ReportData.MethodKey), p.Low.Axis(key), p.High.Axis(key),
                p.Low.Scores[task], p.High.Scores[task], p.High.Scores[task] - p.Low.Scores[task]]));
        var methods = pairs.Select(p => ReportData.Value(p.Low, ReportData.MethodKey)).Distinct().ToList();
        Plots.Deltas(Path.Combine(dir, name + ".png"), $"{task}: {key} effect ({metric}, higher minus lower)", $"delta {metric}",
            pairs.Select(p => (p.Label, p.High.Scores[task] - p.Low.Scores[task], ReportData.Value(p.Low, ReportData.MethodKey))).ToList(), methods);
    }

    static void LossCurves(ReportData data, string dir)
    {
        Csv.Write(Path.Combine(dir, "loss-curves.csv"), ["cell", "step", "loss"],
            data.Cells.SelectMany(c => c.Steps.Select(s => (IReadOnlyList<object?>)[c.Row.Key, s.Step, s.Loss])));
        Plots.Lines(Path.Combine(dir, "loss-curves.png"), "training loss per cell", "step", "loss",
            data.Cells.Select(c => (c.Label, c.Steps.Select(s => (double)s.Step).ToArray(), c.Steps.Select(s => s.Loss).ToArray())).ToList());
    }
}
