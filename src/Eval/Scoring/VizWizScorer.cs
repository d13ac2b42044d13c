using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// VizWiz VQA: LLaVA's scripts/convert_vizwiz_for_submission.py (EvalAI processor), then the VizWiz evaluation
/// (Qing Li's VizWiz API VQAEval, as TRI-ML/vlm-evaluation vlm_eval/util/evaluation/vizwiz/eval.py @ d9f5896 ships
/// it): the prediction is always normalised (newlines, strip, processPunctuation, processDigitArticle with its own
/// contraction table) and compared with the annotator answers as written; leave-one-out min(#matches / 3, 1).
/// A missing answer is scored as "" (the converter refuses such a file).
/// </summary>
public sealed class VizWizScorer : ConvertedVqaScorer
{
    public override string Scoring => "LLaVA convert_vizwiz_for_submission.py (EvalAI processor) + VizWiz VQAEval; annotator answers compared as written";

    protected override SampleScore Evaluate(string converted, IReadOnlyList<string> annotators)
    {
        var res = VqaText.VizWizEval(converted);
        return new SampleScore(res, VqaText.LeaveOneOutAccuracy(res, annotators));
    }
}
