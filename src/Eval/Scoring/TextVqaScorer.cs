using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// TextVQA as LLaVA's eval_textvqa.py + m4c_evaluator.py TextVQAAccuracyEvaluator score it (haotian-liu/LLaVA @
/// c121f04): the EvalAI answer processor normalises the prediction and all ten annotator answers; the score is the
/// leave-one-out min(#matches / 3, 1) average; "vqa_accuracy" is the mean over the answers present (a question
/// without an answer is left out, as the script averages its pred_list), and every answer row counts, duplicates too.
/// </summary>
public sealed class TextVqaScorer : IScorer
{
    public string Scoring => "LLaVA eval_textvqa.py / m4c TextVQAAccuracyEvaluator: EvalAI processor on both sides, mean over answers present";

    public DuplicateAnswers Duplicates => DuplicateAnswers.EachCounted;

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        if (sample.Answers is not { Count: > 0 } answers) return new SampleScore(null, null, Failure: $"{sample.Origin}: no annotator answers");
        var pred = VqaText.EvalAi(prediction.Text);
        return new SampleScore(pred, VqaText.LeaveOneOutAccuracy(pred, answers.Select(VqaText.EvalAi).ToList()));
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        metrics["vqa_accuracy"] = Metrics.MeanPercent(records.Where(r => r.IsOk).Select(r => r.Score ?? 0));
        return metrics;
    }
}
