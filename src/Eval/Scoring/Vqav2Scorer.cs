using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// VQAv2 as the paper's pipeline scores it: LLaVA's scripts/convert_vqav2_for_submission.py passes each answer
/// through the EvalAI answer processor (a question without an answer gets ""), then the official evaluation
/// (GT-Vision-Lab/VQA vqaEval.py @ a013f00) strips newlines, tabs and spaces and, only when the ten annotators
/// disagree, runs processPunctuation then processDigitArticle on the annotator answers and the prediction; the score
/// is the leave-one-out min(#matches / 3, 1) average. "vqa_accuracy" is the mean over every question,
/// "vqa_accuracy/&lt;answer type&gt;" over each answer type.
/// </summary>
public sealed class Vqav2Scorer : IScorer
{
    public string Scoring => "LLaVA convert_vqav2_for_submission.py (EvalAI processor) + official VQA vqaEval.py; missing answers scored as \"\"";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct) =>
        sample.Answers is { Count: > 0 } answers ? Evaluate(VqaText.EvalAi(prediction.Text), answers)
            : new SampleScore(null, null, Failure: $"{sample.Origin}: no annotator answers");

    public SampleScore? ScoreMissing(EvalSample sample) => sample.Answers is { Count: > 0 } answers ? Evaluate("", answers) : null;

    /// <summary>vqaEval.evaluate() for one question, given the converted prediction.</summary>
    static SampleScore Evaluate(string converted, IReadOnlyList<string> answers)
    {
        var gts = answers.Select(VqaText.FlattenAndStrip).ToList();
        var res = VqaText.FlattenAndStrip(converted);
        if (gts.Distinct(StringComparer.Ordinal).Count() > 1)
        {
            gts = gts.Select(VqaText.VqaEval).ToList();
            res = VqaText.VqaEval(res);
        }
        return new SampleScore(res, VqaText.LeaveOneOutAccuracy(res, gts));
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records) => VqaAggregate.ByAnswerType(records);
}

/// <summary>Mean accuracy over every question (a failed one counts with the score its reference gives it, else 0), and per answer type.</summary>
static class VqaAggregate
{
    public static Dictionary<string, double> ByAnswerType(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["vqa_accuracy"] = Metrics.MeanPercent(records.Select(r => r.Score ?? 0));
        foreach (var type in records.Where(r => r.Category is not null).GroupBy(r => r.Category!))
            metrics[$"vqa_accuracy/{type.Key}"] = Metrics.MeanPercent(type.Select(r => r.Score ?? 0));
        return metrics;
    }
}
