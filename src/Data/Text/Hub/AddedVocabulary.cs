using System.Buffers;

namespace MultiLora.Data.Text.Hub;

/// <summary>An entry of tokenizer.json "added_tokens", with the matching options tokenizers honours.</summary>
public sealed record HubAddedToken(int Id, string Content, bool Special, bool SingleWord = false, bool LStrip = false, bool RStrip = false, bool Normalized = false);

/// <summary>
/// Finds added tokens in text as tokenizers' AddedVocabulary does: leftmost match first, the longest one
/// when several start there; single_word tokens only between non-word chars; lstrip/rstrip take the
/// whitespace beside the token into it. Tokens with normalized=false are matched on the raw input, the others
/// on the normalized text (one matcher each).
/// </summary>
public sealed class AddedTokenMatcher
{
    readonly Dictionary<char, HubAddedToken[]> _byFirstChar;
    readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<HubAddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>A match: the token and the text range [Start, End) it takes (with stripped whitespace).</summary>
    public readonly record struct Match(HubAddedToken Token, int Start, int End);

    public List<Match> FindAll(string text)
    {
        var found = new List<Match>();
        if (IsEmpty) return found;
        var consumedTo = 0; // the previous match's end: lstrip cannot reach behind it
        var at = 0;
        while (at < text.Length)
        {
            var next = text.AsSpan(at).IndexOfAny(_firstChars);
            if (next < 0) break;
            var pos = at + next;
            var token = LongestAt(text, pos);
            if (token is null) { at = pos + 1; continue; }
            int start = pos, stop = pos + token.Content.Length;
            at = stop;
            if (token.SingleWord && (pos > 0 && IsWordChar(text[pos - 1]) || stop < text.Length && IsWordChar(text[stop]))) continue;
            if (token.LStrip)
            {
                while (start > consumedTo && char.IsWhiteSpace(text[start - 1])) start--;
            }
            if (token.RStrip)
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            found.Add(new Match(token, start, stop));
            consumedTo = stop;
            at = stop;
        }
        return found;
    }

    HubAddedToken? LongestAt(string text, int pos)
    {
        if (!_byFirstChar.TryGetValue(text[pos], out var candidates)) return null;
        foreach (var t in candidates)
            if (text.AsSpan(pos).StartsWith(t.Content, StringComparison.Ordinal)) return t;
        return null;
    }

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
