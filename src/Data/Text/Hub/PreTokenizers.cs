using System.Text;

namespace MultiLora.Data.Text.Hub;

/// <summary>A tokenizer.json "pre_tokenizer": splits (and may rewrite) each piece; the BPE model sees one piece at a time.</summary>
public interface IPreTokenizer
{
    void PreTokenize(List<AlignedText> pieces);
}

/// <summary>Applies a per-piece split to every piece, keeping their order.</summary>
public abstract class PiecewisePreTokenizer : IPreTokenizer
{
    public void PreTokenize(List<AlignedText> pieces)
    {
        var input = pieces.ToArray();
        pieces.Clear();
        foreach (var piece in input) Split(piece, pieces);
    }

    protected abstract void Split(AlignedText piece, List<AlignedText> into);
}

/// <summary>Split: a literal or regex pattern with a <see cref="SplitBehavior"/>, optionally inverted.</summary>
public sealed class SplitPreTokenizer(ISplitPattern pattern, SplitBehavior behavior, bool invert) : PiecewisePreTokenizer
{
    public ISplitPattern Pattern => pattern;
    public SplitBehavior Behavior => behavior;
    public bool Invert => invert;

    protected override void Split(AlignedText piece, List<AlignedText> into) => PieceSplitter.Split(piece, pattern, behavior, invert, into);
}

/// <summary>Digits: numbers apart from the rest, each digit alone or runs together.</summary>
public sealed class DigitsPreTokenizer(bool individualDigits) : PiecewisePreTokenizer
{
    static readonly CodePointPattern Numeric = new(CodePointPattern.IsNumeric);

    protected override void Split(AlignedText piece, List<AlignedText> into) =>
        PieceSplitter.Split(piece, Numeric, individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, false, into);
}

/// <summary>
/// Metaspace: spaces become the replacement char ("▁"), which is prepended per the scheme ("first": only
/// to the piece at the very start of the input; "always"; "never") unless the piece starts with one; with
/// split, pieces are cut in front of each "▁".
/// </summary>
public sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PiecewisePreTokenizer
{
    readonly LiteralPattern _space = new(" ");
    readonly LiteralPattern _replacement = new(replacement.ToString());

    protected override void Split(AlignedText piece, List<AlignedText> into)
    {
        piece = ReplaceNormalizer.Replace(piece, _space, replacement.ToString());
        var startsWith = piece.Length > 0 && piece.Text[0] == replacement;
        if (!startsWith && (scheme == PrependScheme.Always || scheme == PrependScheme.First && piece.OriginalStart == 0))
            piece = piece.Prepend(replacement.ToString());
        if (split) PieceSplitter.Split(piece, _replacement, SplitBehavior.MergedWithNext, false, into);
        else if (piece.Length > 0) into.Add(piece);
    }
}

public enum PrependScheme { First, Always, Never }

/// <summary>
/// ByteLevel: optionally a leading space, optionally GPT-2's regex split, then every UTF-8 byte becomes its
/// <see cref="ByteLevelAlphabet"/> char (each covering the original char it came from).
/// </summary>
public sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public bool AddPrefixSpace => addPrefixSpace;
    public bool UseRegex => useRegex;

    static readonly KnownRegexScanner Gpt2 = KnownRegexScanner.For(KnownRegexScanner.Gpt2)!;

    public void PreTokenize(List<AlignedText> pieces)
    {
        var input = pieces.ToArray();
        pieces.Clear();
        var split = new List<AlignedText>();
        foreach (var original in input)
        {
            var piece = addPrefixSpace && (original.Length == 0 || original.Text[0] != ' ') ? original.Prepend(" ") : original;
            split.Clear();
            if (useRegex) PieceSplitter.Split(piece, Gpt2, SplitBehavior.Isolated, false, split);
            else if (piece.Length > 0) split.Add(piece);
            foreach (var s in split) pieces.Add(ToBytes(s));
        }
    }

    public static AlignedText ToBytes(AlignedText piece)
    {
        var text = piece.Text;
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\x7f'))
        {
            // ASCII: one byte per char, so the alignment stays as it is and only the chars change.
            var mapped = string.Create(text.Length, text, static (span, t) =>
            {
                for (var i = 0; i < t.Length; i++) span[i] = ByteLevelAlphabet.ByteToChar[t[i]];
            });
            return piece.WithSameLengthText(mapped);
        }
        var into = new AlignedText.Builder(text.Length * 2, piece.OriginalStart);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length;)
        {
            Rune rune;
            int width;
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out rune, out width) != System.Buffers.OperationStatus.Done) { rune = Rune.ReplacementChar; width = 1; }
            var (s, e) = piece.OriginalRange(i, i + width);
            var count = rune.EncodeToUtf8(utf8);
            for (var b = 0; b < count; b++) into.Append(ByteLevelAlphabet.ByteToChar[utf8[b]], s, e);
            i += width;
        }
        return into.Build();
    }
}

public sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    public IReadOnlyList<IPreTokenizer> Steps => steps;

    public void PreTokenize(List<AlignedText> pieces)
    {
        foreach (var step in steps) step.PreTokenize(pieces);
    }
}
