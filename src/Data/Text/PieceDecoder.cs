using System.Text;

namespace MultiLora.Data.Text;

/// <summary>
/// HF's Llama decoder chain (Replace "▁"→" ", ByteFallback, Fuse, Strip one leading space): pieces are
/// joined, runs of &lt;0xNN&gt; byte pieces become UTF-8 text (invalid bytes become U+FFFD each, as
/// tokenizers does), and one leading space of the whole result is dropped. Unknown ids are skipped, as HF does.
/// </summary>
sealed class PieceDecoder
{
    readonly string?[] _pieces;
    readonly HashSet<int> _special;

    public PieceDecoder(IReadOnlyDictionary<string, int> vocabulary, HashSet<int> special)
    {
        _pieces = new string?[vocabulary.Values.Max() + 1];
        foreach (var (piece, id) in vocabulary) _pieces[id] = piece;
        _special = special;
    }

    public string? Piece(int id) => id >= 0 && id < _pieces.Length ? _pieces[id] : null;

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (skipSpecialTokens && _special.Contains(id)) continue;
            // Ids past the tokenizer's vocabulary (a model's padded embedding rows) decode to nothing, as in HF.
            if (Piece(id) is not string piece) continue;
            if (TryByte(piece, out var b)) { bytes.Add(b); continue; }
            FlushBytes(bytes, text);
            text.Append(piece.Replace('\u2581', ' '));
        }
        FlushBytes(bytes, text);
        if (text.Length > 0 && text[0] == ' ') text.Remove(0, 1);
        return text.ToString();
    }

    static bool TryByte(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }

    static void FlushBytes(List<byte> bytes, StringBuilder into)
    {
        if (bytes.Count == 0) return;
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        try { into.Append(strict.GetString(bytes.ToArray())); }
        catch (DecoderFallbackException) { into.Append('\uFFFD', bytes.Count); }
        bytes.Clear();
    }
}
