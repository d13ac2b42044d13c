namespace MultiLora.Data.Text.Hub;

/// <summary>
/// The pre-tokenization nearly every byte-level tokenizer uses (Llama 3, Qwen2, GPT-2: a known regex split,
/// Isolated, then ByteLevel without a prefix space), run without building a piece object per word: ASCII words
/// are mapped to byte-level chars in a buffer and looked up in the BPE cache as they are; other words take the
/// general path. Gives exactly what the component chain gives (the hub reference tests run through it).
/// </summary>
sealed class ByteLevelFastPath(KnownRegexScanner scanner, BpeModel model)
{
    /// <summary>The fast path for a pre-tokenizer, or null when it is not the pattern above.</summary>
    public static ByteLevelFastPath? For(IPreTokenizer? preTokenizer, BpeModel model) => preTokenizer switch
    {
        ByteLevelPreTokenizer { AddPrefixSpace: false, UseRegex: true } => new(KnownRegexScanner.For(KnownRegexScanner.Gpt2)!, model),
        SequencePreTokenizer { Steps: [SplitPreTokenizer { Pattern: KnownRegexScanner known, Behavior: SplitBehavior.Isolated, Invert: false }, ByteLevelPreTokenizer { AddPrefixSpace: false, UseRegex: false }] }
            => new(known, model),
        _ => null,
    };

    public void Encode(AlignedText normalized, int from, int to, List<TokenSpan> into)
    {
        var text = normalized.Text;
        var words = new List<(int Start, int End)>();
        scanner.FindMatches(from == 0 && to == text.Length ? text : text[from..to], words);
        Span<char> buffer = stackalloc char[256];
        var at = from;
        foreach (var (s, e) in words)
        {
            if (from + s > at) Word(normalized, at, from + s, into, buffer); // the scanner covers everything; kept for safety
            Word(normalized, from + s, from + e, into, buffer);
            at = from + e;
        }
        if (at < to) Word(normalized, at, to, into, buffer);
    }

    void Word(AlignedText normalized, int start, int end, List<TokenSpan> into, Span<char> buffer)
    {
        var word = normalized.Text.AsSpan(start, end - start);
        if (word.Length <= buffer.Length && !word.ContainsAnyExceptInRange('\0', '\x7f'))
        {
            // ASCII: one byte per char, so token offsets in the mapped word are offsets in the text.
            var mapped = buffer[..word.Length];
            for (var i = 0; i < word.Length; i++) mapped[i] = ByteLevelAlphabet.ByteToChar[word[i]];
            foreach (var t in model.Tokenize(mapped))
            {
                var (s, e) = normalized.OriginalRange(start + t.Start, start + t.End);
                into.Add(new TokenSpan(t.Id, s, e));
            }
            return;
        }
        var piece = ByteLevelPreTokenizer.ToBytes(normalized.Slice(start, end));
        foreach (var t in model.Tokenize(piece.Text))
        {
            var (s, e) = piece.OriginalRange(t.Start, t.End);
            into.Add(new TokenSpan(t.Id, s, e));
        }
    }
}
