namespace MultiLora.Eval.Scoring;

/// <summary>Small helpers shared by scorers.</summary>
public static class Metrics
{
    public static double Percent(double part, double whole) => whole == 0 ? 0 : 100.0 * part / whole;

    /// <summary>
    /// "n": the task's required samples (optional ones left out), "failed": those without a usable answer,
    /// "coverage": answered / n in percent. A sample is answered when any of its records is ok.
    /// </summary>
    public static Dictionary<string, double> Counts(IReadOnlyList<SampleRecord> records)
    {
        var required = records.Where(r => !r.IsOptional).GroupBy(r => r.Id).ToList();
        var answered = required.Count(g => g.Any(r => r.IsOk));
        return new()
        {
            ["n"] = required.Count,
            ["failed"] = required.Count - answered,
            ["coverage"] = required.Count == 0 ? 0 : 100.0 * answered / required.Count,
        };
    }

    /// <summary>Keeps the metric families the task asked for, plus counts and offline fallbacks (always labelled).</summary>
    public static Dictionary<string, double> Select(Dictionary<string, double> all, IReadOnlyCollection<string> families) =>
        all.Where(kv =>
        {
            var family = kv.Key.Split('/')[0];
            return family is "n" or "failed" or "coverage" || family.StartsWith("offline_") || families.Contains(family);
        }).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>100 x mean, 0 for no values.</summary>
    public static double MeanPercent(IEnumerable<double> values)
    {
        double sum = 0;
        var n = 0;
        foreach (var v in values) { sum += v; n++; }
        return n == 0 ? 0 : 100 * sum / n;
    }
}
