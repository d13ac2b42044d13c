using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>What a scorer says about one prediction. <see cref="Failure"/> set = the sample is recorded as failed.</summary>
public sealed record SampleScore(string? Parsed, double? Score, double? ReferenceScore = null, string? Failure = null, bool? Multimodal = null);

/// <summary>
/// One reply to score: its text and, when it comes from an answer file, the prompt written beside it (LLaVA's
/// "prompt" field, which some reference scripts read) and the line it came from.
/// </summary>
public sealed record Prediction(string Text, string? Prompt = null, int? Line = null);

/// <summary>How a reference treats two answers for the same question (only reached with --allow-partial).</summary>
public enum DuplicateAnswers
{
    /// <summary>The script builds a dict by question id: the last answer wins.</summary>
    LastWins,
    /// <summary>The script scores every answer row (LLaVA eval_textvqa.py): each one is a record.</summary>
    EachCounted,
}

/// <summary>
/// Scores one task's predictions. Metric keys are "family" or "family/breakdown"; rates are percentages (0-100);
/// every scorer also reports "n" (samples), "failed" (samples without a usable answer) and "coverage".
/// A sample without an answer is recorded as failed; how it counts is the reference's rule, which each scorer
/// documents (left out of the denominator, scored as an empty answer, or scored wrong).
/// </summary>
public interface IScorer
{
    /// <summary>How the numbers were obtained (reference script, judge or offline fallback), for results.json.</summary>
    string Scoring { get; }

    DuplicateAnswers Duplicates => DuplicateAnswers.LastWins;

    SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct);

    /// <summary>The score a reference gives a question it has no answer for, when it scores it at all (VQAv2: the empty answer).</summary>
    SampleScore? ScoreMissing(EvalSample sample) => null;

    /// <summary>The reference shown in the per-sample log.</summary>
    string ReferenceOf(EvalSample sample) => sample.Answers is { } a ? string.Join(" | ", a) : sample.Answer;

    Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records);
}
