using System.Globalization;
using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// MM-Vet. With a judge: the official grader prompt plus "question | ground truth (&lt;AND&gt;/&lt;OR&gt; spaced) |
/// prediction | ", temperature 0, max_tokens 3; the first space-separated token must be a number in [0, 1].
/// "score" = sum / n x 100 and "capability_score/&lt;cap&gt;" = sum over samples with that capability / their count
/// x 100 (mm-vet_evaluator.py). A failed sample scores 0 (the official script gives 0 after its retries).
/// Without a judge: "offline_token_f1" on the same breakdown, labelled as the fallback.
/// </summary>
public sealed class MmVetScorer(JudgeClient? judge) : IScorer
{
    public string Scoring => judge is null
        ? "OFFLINE FALLBACK: token-overlap F1 against the ground truth (no judge configured); not comparable to judged MM-Vet scores"
        : $"judge {judge.Describe}: MM-Vet grader prompt, 0-1 per sample";

    public SampleScore Score(EvalSample sample, string prediction, CancellationToken ct)
    {
        var truth = sample.Answer.Replace("<AND>", " <AND> ").Replace("<OR>", " <OR> ");
        if (judge is null) return new SampleScore(null, 100 * TokenOverlapF1.Score(prediction, truth.Replace("<AND>", " ").Replace("<OR>", " ")));
        var question = JudgePrompts.MmVetGrader + "\n" + string.Join(" | ", sample.Question, truth, prediction, "");
        var reply = judge.Complete(new JudgeRequest([new JudgeMessage("user", question)], 0.0, 3), ct);
        if (!reply.Ok) return new SampleScore(null, null, Failure: "judge: " + reply.Failure);
        var token = reply.Content!.Split(' ')[0].Trim();
        if (double.TryParse(token, CultureInfo.InvariantCulture, out var score) && score is >= 0 and <= 1)
            return new SampleScore(token, score);
        return new SampleScore(null, null, Failure: $"judge reply '{reply.Content}' is not a score in [0, 1]");
    }

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var offline = judge is null;
        var (total, perCap) = offline ? ("offline_token_f1", "offline_token_f1") : ("score", "capability_score");
        double Value(SampleRecord r) => r.IsOk ? offline ? (r.Score ?? 0) / 100 : r.Score ?? 0 : 0;
        metrics[total] = records.Count == 0 ? 0 : 100 * records.Sum(Value) / records.Count;
        var caps = records.SelectMany(r => (r.Category ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => (Cap: c, R: r)));
        foreach (var g in caps.GroupBy(x => x.Cap))
            metrics[$"{perCap}/{g.Key}"] = 100 * g.Sum(x => Value(x.R)) / g.Count();
        return metrics;
    }
}
