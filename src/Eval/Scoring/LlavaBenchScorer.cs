using System.Globalization;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// LLaVA-Bench (In-the-Wild). With a judge: LLaVA's eval_gpt_review_bench.py request (context captions, question,
/// Assistant 1 = reference answer, Assistant 2 = model) and its score parsing (first line, "a b" or "a,b");
/// "relative_score" = mean(model) / mean(reference) x 100, overall and per category (summarize_gpt_review.py).
/// A reply that does not parse is a failed sample, left out of both means (LLaVA would average in [-1, -1]).
/// Without a judge: "offline_token_f1" (token-overlap F1 vs the reference x 100), labelled as the fallback.
/// </summary>
public sealed class LlavaBenchScorer(JudgeClient? judge) : IScorer
{
    public string Scoring => judge is null
        ? "OFFLINE FALLBACK: token-overlap F1 against the reference answer (no judge configured); not comparable to judged LLaVA-Bench scores"
        : $"judge {judge.Describe}: LLaVA-Bench rule, relative score = model / reference x 100";

    public SampleScore Score(EvalSample sample, string prediction, CancellationToken ct)
    {
        if (judge is null) return new SampleScore(null, 100 * TokenOverlapF1.Score(prediction, sample.Answer));
        var role = JudgePrompts.LlavaBenchRole;
        var content = $"[Context]\n{sample.Context}\n\n[Question]\n{sample.Question}\n\n" +
                      $"[{role} 1]\n{sample.Answer}\n\n[End of {role} 1]\n\n[{role} 2]\n{prediction}\n\n[End of {role} 2]\n\n" +
                      $"[System]\n{JudgePrompts.LlavaBenchRule}\n\n";
        var reply = judge.Complete(new JudgeRequest(
            [new JudgeMessage("system", JudgePrompts.LlavaBenchSystem), new JudgeMessage("user", content)], 0.2, 1024), ct);
        if (!reply.Ok) return new SampleScore(null, null, Failure: "judge: " + reply.Failure);
        var pair = reply.Content!.Split('\n')[0].Replace(',', ' ').Split(' ');
        if (pair.Length == 2 && double.TryParse(pair[0], CultureInfo.InvariantCulture, out var reference)
                             && double.TryParse(pair[1], CultureInfo.InvariantCulture, out var model))
            return new SampleScore(reply.Content.Split('\n')[0], model, reference);
        return new SampleScore(null, null, Failure: $"judge reply has no score pair on its first line: '{reply.Content.Split('\n')[0]}'");
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
        metrics["relative_score"] = Relative(judged);
        foreach (var c in judged.GroupBy(r => r.Category ?? "default")) metrics[$"relative_score/{c.Key}"] = Relative(c.ToList());
        return metrics;
    }

    static double Relative(IReadOnlyList<SampleRecord> rs)
    {
        if (rs.Count == 0) return 0;
        var reference = rs.Average(r => r.ReferenceScore!.Value);
        return reference == 0 ? 0 : 100 * rs.Average(r => r.Score!.Value) / reference;
    }
}
