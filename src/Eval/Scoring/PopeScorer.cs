using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// POPE: accuracy, precision, recall, F1 and yes-ratio (percentages), over all samples and per split
/// ("accuracy/&lt;split&gt;") when there are several. A failed sample has no answer: it counts in n (so it lowers
/// accuracy and, for a "yes" label, recall as a false negative) but is neither a yes nor a no.
/// </summary>
public sealed class PopeScorer : IScorer
{
    public string Scoring => "LLaVA eval_pope.py: first sentence; 'No'/'not'/'no' as a word = no, else yes";

    public SampleScore Score(EvalSample sample, string prediction, CancellationToken ct)
    {
        var parsed = PopeAnswer.Parse(prediction);
        return new SampleScore(parsed, parsed == sample.Answer ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        Add(metrics, "", records);
        var splits = records.GroupBy(r => r.Split).ToList();
        if (splits.Count > 1)
            foreach (var s in splits) Add(metrics, "/" + s.Key, s.ToList());
        return metrics;
    }

    static void Add(Dictionary<string, double> m, string suffix, IReadOnlyList<SampleRecord> rs)
    {
        string? Pred(SampleRecord r) => r.IsOk ? r.Parsed : null;
        int tp = rs.Count(r => Pred(r) == "yes" && r.Reference == "yes"), fp = rs.Count(r => Pred(r) == "yes" && r.Reference == "no");
        int tn = rs.Count(r => Pred(r) == "no" && r.Reference == "no"), fn = rs.Count(r => Pred(r) != "yes" && r.Reference == "yes");
        double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp), recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        m["accuracy" + suffix] = Metrics.Percent(tp + tn, rs.Count);
        m["precision" + suffix] = 100 * precision;
        m["recall" + suffix] = 100 * recall;
        m["f1" + suffix] = precision + recall == 0 ? 0 : 100 * 2 * precision * recall / (precision + recall);
        m["yes_ratio" + suffix] = Metrics.Percent(rs.Count(r => Pred(r) == "yes"), rs.Count);
    }
}
