using System.Text;

namespace MultiLora.Eval.Scoring;

/// <summary>
/// Offline stand-in for a judge: SQuAD-style token F1 (lower-case, punctuation and articles removed, bag of
/// words overlap) between a prediction and the reference. NOT comparable to judged scores; results say so.
/// </summary>
public static class TokenOverlapF1
{
    public static double Score(string prediction, string reference)
    {
        var p = Tokens(prediction);
        var r = Tokens(reference);
        if (p.Count == 0 || r.Count == 0) return p.Count == r.Count ? 1.0 : 0.0;
        var counts = r.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var common = 0;
        foreach (var t in p)
            if (counts.TryGetValue(t, out var c) && c > 0) { common++; counts[t] = c - 1; }
        if (common == 0) return 0.0;
        double precision = (double)common / p.Count, recall = (double)common / r.Count;
        return 2 * precision * recall / (precision + recall);
    }

    static List<string> Tokens(string text)
    {
        var sb = new StringBuilder();
        foreach (var ch in text.ToLowerInvariant()) sb.Append(char.IsPunctuation(ch) || char.IsSymbol(ch) ? ' ' : ch);
        return sb.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(t => t is not ("a" or "an" or "the")).ToList();
    }
}
