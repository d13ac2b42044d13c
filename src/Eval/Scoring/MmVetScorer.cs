using MultiLora.Eval.Judge;
using MultiLora.Eval.Samples;
using MultiLora.Eval.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// MM-Vet as its mm-vet_evaluator.py scores it (yuweihao/MM-Vet @ acde843, one run): the grader prompt plus
/// "question | ground truth (&lt;AND&gt;/&lt;OR&gt; spaced) | prediction | ", temperature 0, max_tokens 3; the reply's
/// first space-separated token, stripped, read by Python's float() and within [0, 1] (NaN passes, as there) is the
/// score. Otherwise the script asks again with "\nPredict the correctness of the answer (digit): " appended, at
/// temperature 0, 0.5, 1, 1.5, 2, and after the fifth such retry gives 0 without reading its reply. "score" =
/// sum / n x 100 over every question (one without an answer scores 0; the script refuses such a file) and
/// "capability_score/&lt;cap&gt;" = sum over the questions with that capability / their count x 100. Without a judge:
/// "offline_token_f1" on the same breakdown, labelled as the fallback.
/// </summary>
public sealed class MmVetScorer(IJudge? judge) : IScorer
{
    public const string RetrySuffix = "\nPredict the correctness of the answer (digit): ";
    const int Retries = 5;

    public string Scoring => judge is null
        ? "OFFLINE FALLBACK: token-overlap F1 against the ground truth (no judge configured); not comparable to judged MM-Vet scores"
        : $"judge {judge.Describe}: MM-Vet mm-vet_evaluator.py grader prompt and retry rules, 0-1 per sample";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var truth = sample.Answer.Replace("<AND>", " <AND> ", StringComparison.Ordinal).Replace("<OR>", " <OR> ", StringComparison.Ordinal);
        if (judge is null) return new SampleScore(null, 100 * TokenOverlapF1.Score(prediction.Text, truth.Replace("<AND>", " ").Replace("<OR>", " ")));
        var question = JudgePrompts.MmVetGrader + "\n" + string.Join(" | ", sample.Question, truth, prediction.Text, "");
        var reply = Ask(question, 0.0, ct);
        if (!reply.Ok) return new SampleScore(null, null, Failure: "judge: " + reply.Failure);
        var content = reply.Content!;
        var temperature = 0.0;
        for (var retry = 1; ; retry++)
        {
            content = PyStr.Strip(content.Split(' ')[0]);
            if (PyFloat.TryParse(content, out var score) && !(score > 1.0 || score < 0.0)) return new SampleScore(content, score);
            reply = Ask(question + RetrySuffix, temperature, ct);
            if (!reply.Ok) return new SampleScore(null, null, Failure: "judge: " + reply.Failure);
            content = reply.Content!;
            temperature += 0.5;
            if (retry >= Retries) return new SampleScore(content, 0.0);
        }
    }

    JudgeReply Ask(string question, double temperature, CancellationToken ct) =>
        judge!.Complete(new JudgeRequest([new JudgeMessage("user", question)], temperature, 3), ct);

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var offline = judge is null && records.All(r => r.Parsed is null);
        var (total, perCap) = offline ? ("offline_token_f1", "offline_token_f1") : ("score", "capability_score");
        double Value(SampleRecord r) => r.IsOk ? offline ? (r.Score ?? 0) / 100 : r.Score ?? 0 : 0;
        double sum = 0;
        foreach (var r in records) sum += Value(r);
        metrics[total] = records.Count == 0 ? 0 : sum / records.Count * 100;
        var caps = records.SelectMany(r => (r.Category ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => (Cap: c, R: r)));
        foreach (var g in caps.GroupBy(x => x.Cap))
        {
            double capSum = 0;
            foreach (var x in g) capSum += Value(x.R);
            metrics[$"{perCap}/{g.Key}"] = capSum / g.Count() * 100;
        }
        return metrics;
    }
}
