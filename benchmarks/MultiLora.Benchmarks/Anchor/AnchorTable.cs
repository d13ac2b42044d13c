using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MultiLora.Benchmarks.Anchor;

/// <summary>One row of the comparison: both sides' figures, the ratio, and whether issue 16's goal is met.</summary>
public sealed record ComparisonRow(
    string Name, string Unit, double? Hf, double? Ours, double? Ratio,
    string PeakMeasure, double? HfPeakGib, double? OursPeakGib, double? HfMfu, double? OursMfu,
    string Goal, bool? Met, string? Note);

/// <summary>
/// Joins hf_anchor.py's rows and ours by preset name into issue 16's table: throughput (samples/s for training,
/// new tokens/s for generation) and its ratio, peak memory by the measure both sides have (the allocator's peak,
/// else the driver's sampled used-memory peak), MFU from each side's step time with one formula
/// (<see cref="AnchorFlops"/>) against each side's measured matmul peak, and the goal check.
/// </summary>
public static class AnchorTable
{
    public static List<ComparisonRow> Compare(IReadOnlyList<AnchorResult> hf, IReadOnlyList<AnchorResult> ours, bool cpuSmall = false)
    {
        var rows = new List<ComparisonRow>();
        foreach (var preset in AnchorPreset.All)
        {
            var shape = cpuSmall ? preset.CpuSmall() : preset;
            var h = hf.LastOrDefault(r => r.Name == preset.Name && r.Error is null);
            var o = ours.LastOrDefault(r => r.Name == preset.Name && r.Error is null);
            string? oursError = o is null ? ours.LastOrDefault(r => r.Name == preset.Name)?.Error : null;
            string? hfError = h is null ? hf.LastOrDefault(r => r.Name == preset.Name)?.Error : null;
            var errors = new[] { oursError is null ? null : "ours: " + oursError, hfError is null ? null : "HF: " + hfError }.OfType<string>().ToList();
            string? note = errors.Count == 0 ? null : string.Join("; ", errors);
            bool train = preset.Kind == AnchorKind.Train;
            double? Speed(AnchorResult? r) => r is null ? null : train ? r.SamplesPerS : r.GenTokensPerS;
            double? hs = Speed(h), os = Speed(o);
            double? ratio = hs is > 0 && os is not null ? os / hs : null;
            bool allocatorBoth = h?.PeakGib is not null && o?.PeakGib is not null;
            string measure = allocatorBoth ? "allocator" : h?.PeakDeviceUsedGib is not null && o?.PeakDeviceUsedGib is not null ? "device used" : o?.PeakRssGib is not null ? "RSS (ours)" : "-";
            double? hp = allocatorBoth ? h!.PeakGib : measure == "device used" ? h!.PeakDeviceUsedGib : null;
            double? op = allocatorBoth ? o!.PeakGib : measure == "device used" ? o!.PeakDeviceUsedGib : o?.PeakGib ?? o?.PeakRssGib;
            double? Mfu(AnchorResult? r) => r?.StepS is { } s ? AnchorFlops.Mfu(shape, s, r.MatmulPeakTflops) : null;
            var related = preset.Goal.RelativeTo is { } rel ? ours.LastOrDefault(r => r.Name == rel && r.Error is null) : null;
            rows.Add(new ComparisonRow(preset.Name, train ? "samples/s" : "new tokens/s", hs, os, ratio, measure, hp, op, Mfu(h), Mfu(o),
                preset.Goal.Describe(), Met(preset.Goal, ratio, hp, op, os, related?.SamplesPerS), note));
        }
        return rows;
    }

    /// <summary>null when a figure the goal needs is missing.</summary>
    static bool? Met(AnchorGoal g, double? ratio, double? hfPeak, double? oursPeak, double? oursSpeed, double? relatedSpeed)
    {
        var checks = new List<bool?>();
        if (g.SpeedupOverHf is { } s) checks.Add(ratio is null ? null : ratio >= s);
        if (g.PeakAtMostHf) checks.Add(hfPeak is null || oursPeak is null ? null : oursPeak <= hfPeak);
        if (g.PeakGiBAtMost is { } p) checks.Add(oursPeak is null ? null : oursPeak <= p);
        if (g.TokensPerSecondAtLeast is { } t) checks.Add(oursSpeed is null ? null : oursSpeed >= t);
        if (g.SpeedOfRelativeAtLeast is { } k) checks.Add(oursSpeed is null || relatedSpeed is not > 0 ? null : oursSpeed >= k * relatedSpeed);
        if (checks.Count == 0 || checks.Any(c => c is null)) return null;
        return checks.All(c => c == true);
    }

    public static string Markdown(IReadOnlyList<ComparisonRow> rows, string header)
    {
        static string F(double? v, string format) => v is null ? "-" : v.Value.ToString(format, CultureInfo.InvariantCulture);
        static string Pct(double? v) => v is null ? "-" : F(v * 100, "0.0") + "%";
        var sb = new StringBuilder();
        sb.AppendLine(header).AppendLine();
        sb.AppendLine("| row | unit | HF | ours | ours / HF | peak measure | HF peak GiB | ours peak GiB | HF MFU | ours MFU | goal | met |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            string met = r.Met is null ? "-" : r.Met.Value ? "yes" : "no";
            sb.AppendLine($"| {r.Name} | {r.Unit} | {F(r.Hf, "0.##")} | {F(r.Ours, "0.##")} | {F(r.Ratio, "0.00")}{(r.Ratio is null ? "" : "x")} | {r.PeakMeasure} | {F(r.HfPeakGib, "0.00")} | {F(r.OursPeakGib, "0.00")} | {Pct(r.HfMfu)} | {Pct(r.OursMfu)} | {r.Goal} | {met}{(r.Note is null ? "" : " (" + r.Note.Replace("|", "/", StringComparison.Ordinal) + ")")} |");
        }
        return sb.ToString();
    }

    /// <summary>`anchor-table HF.json OURS.json [--out DIR] [--cpu-small]`: writes comparison.md and comparison.json, prints the table.</summary>
    public static int Run(string[] args)
    {
        var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        int outAt = Array.IndexOf(args, "--out");
        if (outAt >= 0 && outAt + 1 < args.Length) positional.Remove(args[outAt + 1]);
        if (positional.Count != 2) { Console.WriteLine("usage: anchor-table HF.json OURS.json [--out DIR] [--cpu-small]"); return 2; }
        var hf = File.Exists(positional[0]) ? AnchorResult.ReadAll(positional[0]) : [];
        var ours = AnchorResult.ReadAll(positional[1]);
        bool small = args.Contains("--cpu-small");
        var rows = Compare(hf, ours, small);
        string device = ours.FirstOrDefault()?.Device ?? "?";
        string header = $"Issue 16 comparison on {device}{(small ? " (cpu-small shapes: a dry run, not the issue's figures)" : "")}; HF rows from {positional[0]}{(hf.Count == 0 ? " (missing)" : "")}, ours from {positional[1]}.";
        string md = Markdown(rows, header);
        Console.WriteLine(md);
        if (outAt >= 0 && outAt + 1 < args.Length)
        {
            string dir = args[outAt + 1];
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "comparison.md"), md);
            File.WriteAllText(Path.Combine(dir, "comparison.json"), JsonSerializer.Serialize(rows, AnchorResult.Json));
        }
        return 0;
    }
}
