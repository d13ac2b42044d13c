using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>What a scorer says about one prediction. <see cref="Failure"/> set = the sample is recorded as failed.</summary>
public sealed record SampleScore(string? Parsed, double? Score, double? ReferenceScore = null, string? Failure = null);

/// <summary>
/// Scores one task's predictions. Metric keys are "family" or "family/breakdown"; rates are percentages (0-100);
/// every scorer also reports "n" (samples) and "failed" (samples recorded as failed: counted, scored as wrong
/// unless the scorer says otherwise).
/// </summary>
public interface IScorer
{
    /// <summary>How the numbers were obtained (e.g. which judge, or the offline fallback), for results.json.</summary>
    string Scoring { get; }

    SampleScore Score(EvalSample sample, string prediction, CancellationToken ct);

    /// <summary>The reference shown in the per-sample log.</summary>
    string ReferenceOf(EvalSample sample) => sample.Answers is { } a ? string.Join(" | ", a) : sample.Answer;

    Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records);
}
