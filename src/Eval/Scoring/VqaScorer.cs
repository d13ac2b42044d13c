using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>VQA accuracy (TextVQA, VQAv2, VizWiz): mean of the official per-question accuracy, as a percentage.</summary>
public sealed class VqaScorer : IScorer
{
    public string Scoring => "official VQA accuracy (EvalAI normalisation, min(#matches/3,1) over leave-one-out annotator subsets)";

    public SampleScore Score(EvalSample sample, string prediction, CancellationToken ct) =>
        sample.Answers is { Count: > 0 } answers
            ? new SampleScore(VqaNormalizer.Normalize(prediction), VqaAccuracy.Score(prediction, answers))
            : new SampleScore(null, null, Failure: $"{sample.Origin}: no annotator answers");

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["vqa_accuracy"] = records.Count == 0 ? 0 : 100 * records.Sum(r => r.IsOk ? r.Score ?? 0 : 0) / records.Count;
        return metrics;
    }
}
