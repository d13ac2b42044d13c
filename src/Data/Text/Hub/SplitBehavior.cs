namespace MultiLora.Data.Text.Hub;

/// <summary>tokenizers' SplitDelimiterBehavior: what becomes of the matches when a piece is split.</summary>
public enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>Splits one piece at a pattern's matches the way tokenizers' NormalizedString::split does.</summary>
public static class PieceSplitter
{
    public static void Split(AlignedText piece, ISplitPattern pattern, SplitBehavior behavior, bool invert, List<AlignedText> into)
    {
        var found = new List<(int Start, int End)>();
        pattern.FindMatches(piece.Text, found);
        // The whole piece as alternating (range, is_match) parts.
        var parts = new List<(int Start, int End, bool Match)>(found.Count * 2 + 1);
        var prev = 0;
        foreach (var (s, e) in found)
        {
            if (prev != s) parts.Add((prev, s, invert));
            parts.Add((s, e, !invert));
            prev = e;
        }
        if (prev != piece.Length) parts.Add((prev, piece.Length, invert));

        var splits = new List<(int Start, int End, bool Remove)>(parts.Count);
        var previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var p in parts) splits.Add((p.Start, p.End, false));
                break;
            case SplitBehavior.Removed:
                foreach (var p in parts) splits.Add((p.Start, p.End, p.Match));
                break;
            case SplitBehavior.Contiguous:
                foreach (var p in parts)
                {
                    if (p.Match == previousMatch && splits.Count > 0) splits[^1] = (splits[^1].Start, p.End, false);
                    else splits.Add((p.Start, p.End, false));
                    previousMatch = p.Match;
                }
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var p in parts)
                {
                    if (p.Match && !previousMatch && splits.Count > 0) splits[^1] = (splits[^1].Start, p.End, false);
                    else splits.Add((p.Start, p.End, false));
                    previousMatch = p.Match;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (var i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.Match && !previousMatch && splits.Count > 0) splits[^1] = (p.Start, splits[^1].End, false);
                    else splits.Add((p.Start, p.End, false));
                    previousMatch = p.Match;
                }
                splits.Reverse();
                break;
        }
        foreach (var (s, e, remove) in splits)
            if (!remove && e > s) into.Add(s == 0 && e == piece.Length ? piece : piece.Slice(s, e));
    }
}
