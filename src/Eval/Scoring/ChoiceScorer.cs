using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// Generic multiple choice (the synthetic split; MMBench and ScienceQA use their reference scorers). A group (all circular rotations of one question; one sample when not
/// circular) counts as right only when every sample in it was answered right. "accuracy" over groups,
/// "category_accuracy/&lt;category&gt;" and "category_accuracy/l2/&lt;l2-category&gt;" per category.
/// </summary>
public sealed class ChoiceScorer(string answerParser) : IScorer
{
    public string Scoring => $"exact option match after '{answerParser}' extraction; a question counts when all its rotations are right";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var parsed = AnswerParsers.Parse(answerParser, prediction.Text, sample);
        return new SampleScore(parsed, parsed == sample.Answer ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var groups = records.GroupBy(r => r.GroupKey)
            .Select(g => (Right: g.All(r => r.IsOk && r.Score == 1), First: g.First())).ToList();
        var metrics = Metrics.Counts(records);
        metrics["accuracy"] = Metrics.Percent(groups.Count(g => g.Right), groups.Count);
        foreach (var c in groups.Where(g => g.First.Category is not null).GroupBy(g => g.First.Category!))
            metrics[$"category_accuracy/{c.Key}"] = Metrics.Percent(c.Count(g => g.Right), c.Count());
        foreach (var c in groups.Where(g => g.First.Category2 is not null).GroupBy(g => g.First.Category2!))
            metrics[$"category_accuracy/l2/{c.Key}"] = Metrics.Percent(c.Count(g => g.Right), c.Count());
        return metrics;
    }
}
