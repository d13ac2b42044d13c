namespace MultiLora.Data.Text;

/// <summary>
/// Splits text around added tokens the way HF does before any normalization: leftmost match first, the
/// longest token when several start at the same place. Added tokens here are matched verbatim (no lstrip/rstrip).
/// </summary>
sealed class AddedTokenSplitter(IReadOnlyList<AddedToken> tokens)
{
    readonly AddedToken[] _byLengthDesc = tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();

    /// <summary>A piece of the text: [Start, End) and, for an added token, its id.</summary>
    public readonly record struct Segment(int Start, int End, int? AddedTokenId);

    public IEnumerable<Segment> Split(string text)
    {
        var pos = 0;
        while (pos < text.Length)
        {
            var (at, token) = NextMatch(text, pos);
            if (token is null) { yield return new Segment(pos, text.Length, null); yield break; }
            if (at > pos) yield return new Segment(pos, at, null);
            yield return new Segment(at, at + token.Content.Length, token.Id);
            pos = at + token.Content.Length;
        }
    }

    (int At, AddedToken? Token) NextMatch(string text, int from)
    {
        var best = (At: int.MaxValue, Token: (AddedToken?)null);
        foreach (var t in _byLengthDesc)
        {
            var at = text.IndexOf(t.Content, from, StringComparison.Ordinal);
            if (at >= 0 && at < best.At) best = (at, t);
        }
        return best.Token is null ? (-1, null) : best;
    }
}
