using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>Exact match of the post-processed answer against the reference (GQA), as a percentage.</summary>
public sealed class ExactMatchScorer(string answerParser) : IScorer
{
    public string Scoring => $"exact match after '{answerParser}' post-processing";

    public SampleScore Score(EvalSample sample, string prediction, CancellationToken ct)
    {
        var parsed = AnswerParsers.Parse(answerParser, prediction, sample);
        return new SampleScore(parsed, parsed == sample.Answer.Trim().ToLowerInvariant() ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["exact_match"] = Metrics.Percent(records.Count(r => r.IsOk && r.Score == 1), records.Count);
        return metrics;
    }
}
