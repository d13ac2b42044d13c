using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// VizWiz VQA as the paper's pipeline scores it: LLaVA's scripts/convert_vizwiz_for_submission.py passes each
/// answer through the EvalAI answer processor, then the VizWiz evaluation (Qing Li's VizWiz API VQAEval, as in
/// TRI-ML/vlm-evaluation vlm_eval/util/evaluation/vizwiz/eval.py @ d9f5896) always normalises the prediction
/// (newlines, strip, processPunctuation, processDigitArticle with its own contraction table) and compares it with
/// the annotator answers as written; leave-one-out min(#matches / 3, 1). A missing answer is scored as "" (the
/// converter refuses such a file). "vqa_accuracy" over every question, "vqa_accuracy/&lt;answer type&gt;" per type.
/// </summary>
public sealed class VizWizScorer : IScorer
{
    public string Scoring => "LLaVA convert_vizwiz_for_submission.py (EvalAI processor) + VizWiz VQAEval; annotator answers compared as written";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct) =>
        sample.Answers is { Count: > 0 } answers ? Evaluate(VqaText.EvalAi(prediction.Text), answers)
            : new SampleScore(null, null, Failure: $"{sample.Origin}: no annotator answers");

    public SampleScore? ScoreMissing(EvalSample sample) => sample.Answers is { Count: > 0 } answers ? Evaluate("", answers) : null;

    static SampleScore Evaluate(string converted, IReadOnlyList<string> answers)
    {
        var res = VqaText.VizWizEval(converted);
        return new SampleScore(res, VqaText.LeaveOneOutAccuracy(res, answers));
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records) => VqaAggregate.ByAnswerType(records);
}
