using MultiLora.Eval.Samples;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// MMBench as VLMEvalKit's circular evaluation scores it in exact-matching mode (mcq_circular_eval +
/// prefetch_circular_group + report_acc, open-compass/VLMEvalKit @ e8e78f05) after LLaVA's
/// convert_mmbench_for_submission.py: each answer is read with can_infer (<see cref="OptionExtractor"/>); a question
/// (the group of its rotations, index mod 1e6, reported under the row whose index is the group) counts as right only
/// when every rotation was read as its right letter. The converter writes the answers to a spreadsheet, which the
/// evaluation reads back with pandas: a row without an answer, an empty answer and any of pandas' missing-value
/// texts ("NA", "null", ...) arrive as NaN, i.e. the text "nan", and are scored as that (a duplicated answer: the last
/// wins). The converter cannot write control characters; such answers are scored as written. "accuracy" over questions, "category_accuracy/&lt;category&gt;" and
/// "category_accuracy/l2/&lt;l2-category&gt;" per category (VLMEvalKit abbreviates six l2 names; these keep the TSV's names).
/// </summary>
public sealed class CircularChoiceScorer : IScorer
{
    /// <summary>What VLMEvalKit reads for a row the converter left empty.</summary>
    public const string MissingPrediction = "nan";

    public string Scoring => "LLaVA convert_mmbench_for_submission.py + VLMEvalKit circular evaluation, exact matching (can_infer): a question counts when every rotation is right";

    public SampleScore Score(EvalSample sample, Prediction prediction, CancellationToken ct)
    {
        var text = PandasNa.Values.Contains(prediction.Text) ? MissingPrediction : prediction.Text;
        var parsed = OptionExtractor.Extract(text, sample.Choices);
        return new SampleScore(parsed, parsed == sample.Answer ? 1 : 0);
    }

    public SampleScore? ScoreMissing(EvalSample sample) => Score(sample, new Prediction(MissingPrediction), CancellationToken.None);

    public Dictionary<string, double> Aggregate(IReadOnlyList<SampleRecord> records)
    {
        var metrics = Metrics.Counts(records);
        var groups = records.GroupBy(r => r.GroupKey)
            .Select(g => (Main: g.FirstOrDefault(r => r.Id == g.Key), Right: g.All(r => r.Score == 1)))
            .Where(g => g.Main is not null).ToList();
        metrics["accuracy"] = Metrics.MeanPercent(groups.Select(g => g.Right ? 1.0 : 0));
        foreach (var c in groups.Where(g => g.Main!.Category is not null).GroupBy(g => g.Main!.Category!))
            metrics[$"category_accuracy/{c.Key}"] = Metrics.MeanPercent(c.Select(g => g.Right ? 1.0 : 0));
        foreach (var c in groups.Where(g => g.Main!.Category2 is not null).GroupBy(g => g.Main!.Category2!))
            metrics[$"category_accuracy/l2/{c.Key}"] = Metrics.MeanPercent(c.Select(g => g.Right ? 1.0 : 0));
        return metrics;
    }
}
