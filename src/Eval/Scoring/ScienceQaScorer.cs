using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// ScienceQA as LLaVA's eval_science_qa.py scores it (haotian-liu/LLaVA @ c121f04): the reply is parsed by
/// <see cref="ScienceQaLetter"/>; "accuracy" is the script's IMG-Accuracy: over the answers whose prompt contains
/// "&lt;image&gt;" (LLaVA's model_vqa_science writes it for problems with an image; a run of ours, which writes no
/// such prompt, uses whether the problem has one). A problem without an answer is "FAILED" and not multimodal, so it
/// leaves IMG-Accuracy's denominator; "accuracy_all" (the script's "Accuracy" over every test problem, missing ones
/// wrong) is reported when the answers cover problems without an image too.
/// </summary>
public sealed class ScienceQaScorer : IScorer
{
    public string Scoring => "LLaVA eval_science_qa.py: exact letter rules, IMG-Accuracy over answers whose prompt has <image>";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var letter = ScienceQaLetter.Parse(prediction.Text);
        var multimodal = prediction.Prompt is { } prompt ? prompt.Contains("<image>", StringComparison.Ordinal) : !sample.Optional;
        var inRange = sample.Choices.Any(o => o.Letter == letter);
        return new SampleScore(letter, inRange && letter == sample.Answer ? 1 : 0, Multimodal: multimodal);
    }

    public SampleScore? ScoreMissing(EvalSample sample) => new(ScienceQaLetter.Failed, 0, Multimodal: false);

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["accuracy"] = Metrics.MeanPercent(records.Where(r => r.Multimodal == true).Select(r => r.Score ?? 0));
        if (records.Any(r => r.IsOptional && r.IsOk))
            metrics["accuracy_all"] = Metrics.MeanPercent(records.Select(r => r.Score ?? 0));
        return metrics;
    }
}
