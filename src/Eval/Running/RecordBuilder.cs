using MultiLora.Eval.Samples;
using MultiLora.Eval.Scoring;
using MultiLora.Eval.Tasks;

namespace MultiLora.Eval.Running;

/// <summary>Turns a sample and the model's reply (or a failure) into its per-sample record; shared by the runner and `eval score`.</summary>
public static class RecordBuilder
{
    public static SampleRecord Scored(TaskDefinition task, IScorer scorer, EvalSample sample, string prompt, Prediction prediction, CancellationToken ct)
    {
        SampleScore score;
        try { score = scorer.Score(sample, prediction, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { score = new SampleScore(null, null, Failure: $"scoring failed: {e.Message}"); }
        return Base(task, scorer, sample, prompt) with
        {
            Status = score.Failure is null ? SampleRecord.Ok : SampleRecord.Failed,
            Prediction = prediction.Text, Parsed = score.Parsed, Score = score.Score, ReferenceScore = score.ReferenceScore, Error = score.Failure,
            AnswerLine = prediction.Line, Multimodal = score.Multimodal,
        };
    }

    /// <summary>A sample without an answer; it keeps the score its reference gives a missing answer, if any.</summary>
    public static SampleRecord Failed(TaskDefinition task, IScorer scorer, EvalSample sample, string prompt, string reason)
    {
        var missing = scorer.ScoreMissing(sample);
        return Base(task, scorer, sample, prompt) with
        {
            Status = SampleRecord.Failed, Error = reason, Parsed = missing?.Parsed, Score = missing?.Score, Multimodal = missing?.Multimodal,
        };
    }

    static SampleRecord Base(TaskDefinition task, IScorer scorer, EvalSample sample, string prompt) =>
        new(task.Name, sample.Id, SampleRecord.Failed, prompt, null, null, scorer.ReferenceOf(sample), null,
            Split: sample.Split, Group: sample.Group, Category: sample.Category, Category2: sample.Category2,
            Optional: sample.Optional ? true : null);
}
