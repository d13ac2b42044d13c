using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// LLaVA-Bench (In-the-Wild) as LLaVA's eval_gpt_review_bench.py and summarize_gpt_review.py score it
/// (haotian-liu/LLaVA @ c121f04). With a judge: the script's request (context captions, question, Assistant 1 = the
/// reference answer, Assistant 2 = the model, the llava_bench rule; temperature 0.2, max_tokens 1024) and its
/// parse_score: the reply's first line with commas as spaces, split on single spaces; exactly two fields read by
/// Python's float(), else [-1, -1], which is averaged in like any score. Per category and overall, the two means are
/// rounded to 3 decimals (Python's round) and "relative_score" = model / reference x 100, "model_score" and
/// "reference_score" = the rounded means x 10 (the script prints these rounded to 1 decimal). A judge that cannot be
/// reached leaves the sample failed and out of the means. Without a judge: "offline_token_f1" (token-overlap F1 vs the
/// reference x 100), labelled as the fallback.
/// </summary>
public sealed class LlavaBenchScorer(IJudge? judge) : IScorer
{
    public string Scoring => judge is null
        ? "OFFLINE FALLBACK: token-overlap F1 against the reference answer (no judge configured); not comparable to judged LLaVA-Bench scores"
        : $"judge {judge.Describe}: LLaVA eval_gpt_review_bench.py + summarize_gpt_review.py, relative score = model / reference x 100";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        if (judge is null) return new SampleScore(null, 100 * TokenOverlapF1.Score(prediction.Text, sample.Answer));
        var role = JudgePrompts.LlavaBenchRole;
        var content = $"[Context]\n{sample.Context}\n\n[Question]\n{sample.Question}\n\n" +
                      $"[{role} 1]\n{sample.Answer}\n\n[End of {role} 1]\n\n[{role} 2]\n{prediction.Text}\n\n[End of {role} 2]\n\n" +
                      $"[System]\n{JudgePrompts.LlavaBenchRule}\n\n";
        var reply = judge.Complete(new JudgeRequest(
            [new JudgeMessage("system", JudgePrompts.LlavaBenchSystem), new JudgeMessage("user", content)], 0.2, 1024), ct);
        if (!reply.Ok) return new SampleScore(null, null, Failure: "judge: " + reply.Failure);
        var (reference, model) = ParseScore(reply.Content!);
        return new SampleScore(reply.Content!.Split('\n')[0], model, reference);
    }

    /// <summary>eval_gpt_review_bench.py parse_score.</summary>
    public static (double Reference, double Model) ParseScore(string review)
    {
        var sp = review.Split('\n')[0].Replace(',', ' ').Split(' ');
        return sp.Length == 2 && PyFloat.TryParse(sp[0], out var a) && PyFloat.TryParse(sp[1], out var b) ? (a, b) : (-1, -1);
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var ok = records.Where(r => r.IsOk && r.Score is not null).ToList();
        if (judge is null && ok.All(r => r.ReferenceScore is null))
        {
            metrics["offline_token_f1"] = ok.Count == 0 ? 0 : ok.Average(r => r.Score!.Value);
            foreach (var c in ok.GroupBy(r => r.Category ?? "default")) metrics[$"offline_token_f1/{c.Key}"] = c.Average(r => r.Score!.Value);
            return metrics;
        }
        var judged = ok.Where(r => r.ReferenceScore is not null).ToList();
        Add(metrics, "", judged);
        foreach (var c in judged.GroupBy(r => r.Category ?? "default")) Add(metrics, "/" + c.Key, c.ToList());
        return metrics;
    }

    /// <summary>summarize_gpt_review.py: mean of the pairs, each rounded to 3 decimals, then the ratio.</summary>
    static void Add(Dictionary<string, double> metrics, string suffix, IReadOnlyList<SampleRecord> rs)
    {
        if (rs.Count == 0) return;
        double sumReference = 0, sumModel = 0;
        foreach (var r in rs) { sumReference += r.ReferenceScore!.Value; sumModel += r.Score!.Value; }
        var reference = PyRound.Round(sumReference / rs.Count, 3);
        var model = PyRound.Round(sumModel / rs.Count, 3);
        metrics["relative_score" + suffix] = reference == 0 ? 0 : model / reference * 100;
        metrics["model_score" + suffix] = model * 10;
        metrics["reference_score" + suffix] = reference * 10;
    }
}
