namespace MultiLora.Eval.Scoring;

/// <summary>Small helpers shared by scorers.</summary>
public static class Metrics
{
    public static double Percent(double part, double whole) => whole == 0 ? 0 : 100.0 * part / whole;

    public static Dictionary<string, double> Counts(IReadOnlyList<SampleRecord> records) => new()
    {
        ["n"] = records.Count,
        ["failed"] = records.Count(r => !r.IsOk),
    };

    /// <summary>Keeps the metric families the task asked for, plus counts and offline fallbacks (always labelled).</summary>
    public static Dictionary<string, double> Select(Dictionary<string, double> all, IReadOnlyCollection<string> families) =>
        all.Where(kv =>
        {
            var family = kv.Key.Split('/')[0];
            return family is "n" or "failed" || family.StartsWith("offline_") || families.Contains(family);
        }).ToDictionary(kv => kv.Key, kv => kv.Value);
}
