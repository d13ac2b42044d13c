using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// The shape shared by VQAv2 and VizWiz as the paper's pipeline scores them: LLaVA's submission converter passes
/// each answer through the EvalAI answer processor (a question without an answer gets ""), then the benchmark's
/// official evaluation (<see cref="Evaluate"/>) scores the converted answer against the annotators. "vqa_accuracy" is
/// the mean over every question, "vqa_accuracy/&lt;answer type&gt;" over each answer type.
/// </summary>
public abstract class ConvertedVqaScorer : IScorer
{
    public abstract string Scoring { get; }

    /// <summary>The official evaluation of one question, given the converter's answer: normalised answer and score.</summary>
    protected abstract SampleScore Evaluate(string converted, IReadOnlyList<string> annotators);

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct) =>
        sample.Answers is { Count: > 0 } answers ? Evaluate(VqaText.EvalAi(prediction.Text), answers)
            : new SampleScore(null, null, Failure: $"{sample.Origin}: no annotator answers");

    public SampleScore? ScoreMissing(EvalSample sample) => sample.Answers is { Count: > 0 } answers ? Evaluate("", answers) : null;

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["vqa_accuracy"] = Metrics.MeanPercent(records.Select(r => r.Score ?? 0));
        foreach (var type in records.Where(r => r.Category is not null).GroupBy(r => r.Category!))
            metrics[$"vqa_accuracy/{type.Key}"] = Metrics.MeanPercent(type.Select(r => r.Score ?? 0));
        return metrics;
    }
}
