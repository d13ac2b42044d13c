using MultiLora.Eval.Samples;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// GQA as the paper's pipeline scores it: LLaVA's scripts/convert_gqa_for_eval.py writes text.rstrip('.').lower()
/// (no other stripping), and GQA's eval.py (the testdev version LLaVA's docs point to, e.g. SHI-Labs/VCoder
/// playground/data/eval/gqa/data/eval/eval.py @ 4e85ace) compares it with the answer exactly, over the balanced
/// questions: "accuracy", "accuracy/binary" and "accuracy/open" (open = structural type "query"), and per
/// structural and semantic type. A question without an answer (eval.py refuses such a file) is wrong.
/// </summary>
public sealed class GqaScorer : IScorer
{
    public string Scoring => "LLaVA convert_gqa_for_eval.py (rstrip('.').lower()) + GQA eval.py exact match over balanced questions";

    public static string Convert(string text) => PyStr.Lower(PyStr.RStrip(text, "."));

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var predicted = Convert(prediction.Text);
        return new SampleScore(predicted, predicted == sample.Answer ? 1 : 0);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var scored = records.Where(r => !r.IsOptional).ToList();
        static double Hit(SampleRecord r) => r.IsOk ? r.Score ?? 0 : 0;
        metrics["accuracy"] = Metrics.MeanPercent(scored.Select(Hit));
        if (scored.Any(r => r.Category is not null))
        {
            metrics["accuracy/open"] = Metrics.MeanPercent(scored.Where(r => r.Category == "query").Select(Hit));
            metrics["accuracy/binary"] = Metrics.MeanPercent(scored.Where(r => r.Category != "query").Select(Hit));
            foreach (var g in scored.Where(r => r.Category is not null).GroupBy(r => r.Category!))
                metrics[$"accuracy/structural/{g.Key}"] = Metrics.MeanPercent(g.Select(Hit));
            foreach (var g in scored.Where(r => r.Category2 is not null).GroupBy(r => r.Category2!))
                metrics[$"accuracy/semantic/{g.Key}"] = Metrics.MeanPercent(g.Select(Hit));
        }
        return metrics;
    }
}
