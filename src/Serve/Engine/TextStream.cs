namespace MultiLora.Serve.Engine;

/// <summary>
/// Turns one request's generated tokens into the text a client sees, piece by piece, and finds its stop strings.
/// The final text is what `multilora generate` prints for the same tokens (decoded without special tokens,
/// trimmed), cut before the first stop string; every piece handed out is a prefix of it, so the streamed
/// pieces add up to the non-streamed reply. A piece holds back what could still change: trailing whitespace
/// (trimmed if nothing follows), the text of trailing byte tokens (sentencepiece's byte fallback decodes a run
/// of &lt;0xNN&gt; pieces as a whole: a valid character can turn into U+FFFDs when an invalid byte follows),
/// an incomplete UTF-8 sequence (U+FFFD until its last byte arrives), and an ending that could be the start of
/// a stop string.
/// </summary>
/// <param name="isByteToken">whether a token is a byte-fallback piece whose text depends on the bytes around it</param>
public sealed class TextStream(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<string> stops, Func<int, bool>? isByteToken = null)
{
    readonly List<int> _tokens = [];
    int _emitted;           // characters of the text already handed out

    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>The text of all tokens so far (before any stop string), as far as it is settled.</summary>
    public string Text { get; private set; } = "";

    /// <summary>Adds a token; returns the new settled text, and whether a stop string now ends the reply.</summary>
    public (string Piece, bool Stopped) Push(int token)
    {
        _tokens.Add(token);
        var text = decode(_tokens).TrimStart();
        int stopAt = FirstStop(text);
        if (stopAt >= 0)
        {
            Text = text[..stopAt].TrimEnd();
            return (TakeUpTo(Text, Text.Length), true);
        }
        Text = text;
        return (TakeUpTo(text, Settled(text, Unsettled(text))), false);
    }

    /// <summary>Where the text of the trailing run of byte tokens starts (the text's length when there is none).</summary>
    int Unsettled(string text)
    {
        if (isByteToken is null) return text.Length;
        int run = 0;
        while (run < _tokens.Count && isByteToken(_tokens[^(run + 1)])) run++;
        if (run == 0) return text.Length;
        var before = decode(_tokens.Take(_tokens.Count - run).ToList()).TrimStart();
        return text.StartsWith(before, StringComparison.Ordinal) ? before.Length : _emitted;
    }

    /// <summary>The rest of the reply when generation ends without a stop string (end of sequence or length).</summary>
    public string Finish()
    {
        Text = Text.TrimEnd();
        return TakeUpTo(Text, Text.Length);
    }

    string TakeUpTo(string text, int end)
    {
        if (end <= _emitted) return "";
        var piece = text[_emitted..end];
        _emitted = end;
        return piece;
    }

    int FirstStop(string text)
    {
        int first = -1;
        foreach (var stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }

    /// <summary>How much of <paramref name="text"/> can no longer change, looking no further than <paramref name="limit"/>.</summary>
    int Settled(string text, int limit)
    {
        int end = limit;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, text.Length); k > 0; k--)
                if (string.CompareOrdinal(text, text.Length - k, stop, 0, k) == 0) { end = Math.Min(end, text.Length - k); break; }
        while (end > 0 && (char.IsWhiteSpace(text[end - 1]) || text[end - 1] == '\uFFFD')) end--;
        return Math.Max(end, _emitted);
    }
}
