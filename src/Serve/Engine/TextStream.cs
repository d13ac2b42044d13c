namespace MultiLora.Serve.Engine;

/// <summary>
/// Turns one request's generated tokens into the text a client sees, piece by piece, and finds its stop strings.
/// The final text is what `multilora generate` prints for the same tokens (decoded without special tokens,
/// trimmed), cut before the first stop string; every piece handed out is a prefix of it, so the streamed
/// pieces add up to the non-streamed reply. A piece holds back what could still change: trailing whitespace
/// (trimmed if nothing follows), an incomplete UTF-8 sequence (U+FFFD until its last byte arrives), and an
/// ending that could be the start of a stop string.
/// </summary>
public sealed class TextStream(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<string> stops)
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
        return (TakeUpTo(text, Settled(text)), false);
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

    /// <summary>How much of <paramref name="text"/> can no longer change.</summary>
    int Settled(string text)
    {
        int end = text.Length;
        while (end > 0 && (char.IsWhiteSpace(text[end - 1]) || text[end - 1] == '\uFFFD')) end--;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, text.Length); k > 0; k--)
                if (string.CompareOrdinal(text, text.Length - k, stop, 0, k) == 0) { end = Math.Min(end, text.Length - k); break; }
        return Math.Max(end, _emitted);
    }
}
