namespace MultiLora.Serve.Engine;

/// <summary>
/// Turns one request's generated tokens into the text a client sees, piece by piece, and finds its stop strings.
/// The final text is what `multilora generate` prints for the same tokens (all of them decoded without special
/// tokens, trimmed), cut before the first stop string; every piece handed out is a prefix of it, so the streamed
/// pieces add up to the non-streamed reply. A piece holds back what could still change: trailing whitespace
/// (trimmed if nothing follows), the text of trailing byte tokens (sentencepiece's byte fallback decodes a run of
/// &lt;0xNN&gt; pieces as a whole: a valid character can turn into U+FFFDs when an invalid byte follows), an
/// incomplete UTF-8 sequence (U+FFFD until its last byte arrives), and an ending that could start a stop string.
/// Decoding is incremental, as vLLM's detokenizer does it: the text up to the last ordinary token (an anchor) is
/// final, and each new token decodes only the window from that anchor on (the anchor's own text subtracted), so a
/// step costs the same however long the reply is.
/// </summary>
/// <param name="isByteToken">whether a token is a byte-fallback piece whose text depends on the bytes around it</param>
/// <param name="tokenText">a token decoded alone (cached by the caller; default: <paramref name="decode"/> of the one token)</param>
public sealed class TextStream(Func<IReadOnlyList<int>, string> decode, IReadOnlyList<string> stops, Func<int, bool>? isByteToken = null,
    Func<int, string>? tokenText = null)
{
    readonly List<int> _tokens = [];
    int _emitted;            // characters of the text already handed out
    int _anchor = -1;        // index of the last ordinary token with text of its own
    string _anchorText = ""; // the whole text up to and including the anchor (final)
    string _anchorOwn = "";  // the anchor decoded alone

    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>The text of all tokens so far (before any stop string).</summary>
    public string Text { get; private set; } = "";

    /// <summary>Adds a token; returns the new settled text, and whether a stop string now ends the reply.</summary>
    public (string Piece, bool Stopped) Push(int token)
    {
        _tokens.Add(token);
        var text = Current();
        if (isByteToken?.Invoke(token) != true && (tokenText?.Invoke(token) ?? decode([token])) is { Length: > 0 } own && !own.Contains('\uFFFD'))
        {
            // an ordinary token with text flushes any byte run before it: everything up to here is final
            _anchor = _tokens.Count - 1;
            _anchorText = text;
            _anchorOwn = own;
        }
        if (FirstStop(text) >= 0)
        {
            var whole = decode(_tokens).TrimStart();   // the reply is the decode of all tokens, as generate's
            int stopAt = FirstStop(whole);
            Text = (stopAt >= 0 ? whole[..stopAt] : whole).TrimEnd();
            return (TakeUpTo(Text, Text.Length), true);
        }
        Text = text;
        int unsettled = _anchor == _tokens.Count - 1 ? text.Length : _anchorText.Length;
        return (TakeUpTo(text, Settled(text, unsettled)), false);
    }

    /// <summary>The rest of the reply when generation ends without a stop string (end of sequence or length).</summary>
    public string Finish()
    {
        Text = decode(_tokens).Trim();   // the decode of all tokens, as generate's (the windows add up to it)
        return TakeUpTo(Text, Text.Length);
    }

    /// <summary>The text of all tokens: the final part up to the anchor plus the window after it.</summary>
    string Current()
    {
        if (_anchor < 0) return decode(_tokens).TrimStart();
        var window = decode(_tokens.Skip(_anchor).ToList());
        if (!window.StartsWith(_anchorOwn, StringComparison.Ordinal))
        {
            _anchor = -1;   // a decoder this does not fit: decode everything from here on
            _anchorText = _anchorOwn = "";
            return decode(_tokens).TrimStart();
        }
        var after = window[_anchorOwn.Length..];
        return _anchorText.Length == 0 ? after.TrimStart() : _anchorText + after;
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
        int end = Math.Min(limit, text.Length);
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, text.Length); k > 0; k--)
                if (string.CompareOrdinal(text, text.Length - k, stop, 0, k) == 0) { end = Math.Min(end, text.Length - k); break; }
        while (end > 0 && (char.IsWhiteSpace(text[end - 1]) || text[end - 1] == '\uFFFD')) end--;
        return Math.Max(end, _emitted);
    }
}
