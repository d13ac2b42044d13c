namespace MultiLora.Data.Text;

/// <summary>How a single token reads to a person: its text as decoding would give it inside a longer text.</summary>
public static class TokenPieces
{
    /// <summary>
    /// SentencePiece pieces keep their word-initial "▁" (as a space), byte-level pieces ("Ġthe") show their
    /// bytes' text (" the"), byte-fallback pieces (&lt;0x0A&gt;) and added tokens are decoded.
    /// </summary>
    public static string Show(IModelTokenizer tokenizer, int id)
    {
        var raw = tokenizer.IdToToken(id) ?? "?";
        if (raw.StartsWith("<0x", StringComparison.Ordinal) && raw.Length == 6) return tokenizer.Decode([id], skipSpecialTokens: false);
        if (tokenizer is Hub.HubTokenizer hub && hub.IsByteLevel) return hub.DecodeRaw([id], skipSpecialTokens: false);
        return raw.Replace('▁', ' ');
    }
}
