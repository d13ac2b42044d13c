using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// POPE as LLaVA's eval_pope.py scores it (haotian-liu/LLaVA @ c121f04): accuracy, precision, recall, F1 and
/// yes-ratio (percentages) per category (the sample's split: adversarial, popular, random). With one category those
/// are the metrics; with several they are reported as "metric/category" and the plain "metric" is the mean over the
/// categories (the paper's POPE figure is the mean F1 of the three). A sample without an answer (the script cannot
/// score such a file: it pairs answers and labels by position) counts in its category's total as neither yes nor no,
/// so it lowers accuracy and, for a "yes" label, recall.
/// </summary>
public sealed class PopeScorer : IScorer
{
    static readonly string[] Families = ["accuracy", "precision", "recall", "f1", "yes_ratio"];

    public string Scoring => "LLaVA eval_pope.py: first sentence; 'No'/'not'/'no' as a word = no, else yes; metrics per category, mean over categories";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var parsed = PopeAnswer.Parse(prediction.Text);
        return new SampleScore(parsed, parsed == sample.Answer ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var categories = records.GroupBy(r => r.Split).ToList();
        if (categories.Count <= 1)
        {
            foreach (var (k, v) in Compute(records)) metrics[k] = v;
            return metrics;
        }
        var perCategory = categories.Select(c => (c.Key, Values: Compute(c.ToList()))).ToList();
        foreach (var (category, values) in perCategory)
            foreach (var (k, v) in values) metrics[$"{k}/{category}"] = v;
        foreach (var family in Families) metrics[family] = perCategory.Average(c => c.Values[family]);
        return metrics;
    }

    static Dictionary<string, double> Compute(IReadOnlyList<SampleRecord> rs)
    {
        string? Pred(SampleRecord r) => r.IsOk ? r.Parsed : null;
        int tp = rs.Count(r => Pred(r) == "yes" && r.Reference == "yes"), fp = rs.Count(r => Pred(r) == "yes" && r.Reference == "no");
        int tn = rs.Count(r => Pred(r) == "no" && r.Reference == "no");
        var fn = rs.Count(r => Pred(r) != "yes" && r.Reference == "yes");
        double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp), recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        return new()
        {
            ["accuracy"] = Metrics.Percent(tp + tn, rs.Count),
            ["precision"] = 100 * precision,
            ["recall"] = 100 * recall,
            ["f1"] = precision + recall == 0 ? 0 : 100 * 2 * precision * recall / (precision + recall),
            ["yes_ratio"] = Metrics.Percent(rs.Count(r => Pred(r) == "yes"), rs.Count),
        };
    }
}
