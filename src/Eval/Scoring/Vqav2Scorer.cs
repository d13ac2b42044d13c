using MultiLora.Eval.Scoring.Vqa;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// VQAv2: LLaVA's scripts/convert_vqav2_for_submission.py (EvalAI processor; "" for a question without an answer),
/// then the official evaluation (GT-Vision-Lab/VQA vqaEval.py @ a013f00): newlines, tabs and outer spaces go from
/// the annotator answers and the prediction; only when the ten annotators disagree are all of them and the
/// prediction run through processPunctuation then processDigitArticle; leave-one-out min(#matches / 3, 1).
/// </summary>
public sealed class Vqav2Scorer : ConvertedVqaScorer
{
    public override string Scoring => "LLaVA convert_vqav2_for_submission.py (EvalAI processor) + official VQA vqaEval.py; missing answers scored as \"\"";

    protected override SampleScore Evaluate(string converted, IReadOnlyList<string> annotators)
    {
        var gts = annotators.Select(VqaText.FlattenAndStrip).ToList();
        var res = VqaText.FlattenAndStrip(converted);
        if (gts.Distinct(StringComparer.Ordinal).Count() > 1)
        {
            gts = gts.Select(VqaText.VqaEval).ToList();
            res = VqaText.VqaEval(res);
        }
        return new SampleScore(res, VqaText.LeaveOneOutAccuracy(res, gts));
    }
}
