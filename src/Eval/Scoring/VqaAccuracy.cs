namespace MultiLora.Eval.Scoring;

/// <summary>
/// Official VQA accuracy: for each of the annotators, leave that one out and score min(#matches among the
/// others / 3, 1); average over the leave-one-out subsets (10 choose 9 for ten answers). Both sides normalised
/// by <see cref="VqaNormalizer"/>.
/// </summary>
public static class VqaAccuracy
{
    public static double Score(string prediction, IReadOnlyList<string> annotatorAnswers)
    {
        var pred = VqaNormalizer.Normalize(prediction);
        var gts = annotatorAnswers.Select(VqaNormalizer.Normalize).ToList();
        var total = 0.0;
        for (var left = 0; left < gts.Count; left++)
        {
            var matches = 0;
            for (var j = 0; j < gts.Count; j++) if (j != left && gts[j] == pred) matches++;
            total += Math.Min(1.0, matches / 3.0);
        }
        return total / gts.Count;
    }
}
