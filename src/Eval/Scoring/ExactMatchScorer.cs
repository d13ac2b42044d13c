using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>Generic exact match of the post-processed answer against the lower-cased, stripped reference, as a percentage (a missing answer is wrong).</summary>
public sealed class ExactMatchScorer(string answerParser) : IScorer
{
    public string Scoring => $"exact match after '{answerParser}' post-processing";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var parsed = AnswerParsers.Parse(answerParser, prediction.Text, sample);
        return new SampleScore(parsed, parsed == Text.PyStr.Lower(Text.PyStr.Strip(sample.Answer)) ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["exact_match"] = Metrics.Percent(records.Count(r => r.IsOk && r.Score == 1), records.Count);
        return metrics;
    }
}
