using System.Text;

namespace MultiLora.Data.Text.Hub;

/// <summary>
/// A piece of text on its way through normalizers and pre-tokenizers, with, for every char, the range
/// [Start, End) of the original input it came from (tokenizers' NormalizedString). Chars that were added
/// (a prepended "▁" or " ") cover nothing: Start == End. Tokens take the union of their chars' ranges, which
/// is how the conversation encoder knows what text each token came from.
/// </summary>
public sealed class AlignedText
{
    public string Text { get; }
    // Ranges of the chars; a slice shares its parent's arrays from _offset on (pieces are many and short).
    readonly int[] _starts;
    readonly int[] _ends;
    readonly int _offset;
    /// <summary>Where this piece starts in the original text (tokenizers' offsets_original().0).</summary>
    public int OriginalStart { get; }

    AlignedText(string text, int[] starts, int[] ends, int originalStart, int offset = 0)
    {
        Text = text; _starts = starts; _ends = ends; OriginalStart = originalStart; _offset = offset;
    }

    public int Length => Text.Length;
    public int StartOf(int i) => _starts[_offset + i];
    public int EndOf(int i) => _ends[_offset + i];

    /// <summary>original[start..end) as it is: char i covers [start + i, start + i + 1).</summary>
    public static AlignedText FromOriginal(string original, int start, int end)
    {
        var n = end - start;
        var starts = new int[n];
        var ends = new int[n];
        for (var i = 0; i < n; i++) { starts[i] = start + i; ends[i] = start + i + 1; }
        return new AlignedText(original.Substring(start, n), starts, ends, start);
    }

    /// <summary>The range of the original that chars [from, to) came from (empty at the first char's start when they cover nothing).</summary>
    public (int Start, int End) OriginalRange(int from, int to)
    {
        if (from >= to) return from < Length ? (StartOf(from), StartOf(from)) : (OriginalEnd, OriginalEnd);
        int s = int.MaxValue, e = int.MinValue;
        for (var i = _offset + from; i < _offset + to; i++)
        {
            if (_starts[i] == _ends[i]) continue; // an added char covers nothing
            s = Math.Min(s, _starts[i]);
            e = Math.Max(e, _ends[i]);
        }
        return s == int.MaxValue ? (StartOf(from), StartOf(from)) : (s, e);
    }

    int OriginalEnd => Length == 0 ? OriginalStart : EndOf(Length - 1);

    public AlignedText Slice(int from, int to)
    {
        var n = to - from;
        return new AlignedText(Text.Substring(from, n), _starts, _ends, n > 0 ? StartOf(from) : OriginalStart, _offset + from);
    }

    /// <summary>The same alignment with each char replaced one for one (a byte-level mapping of ASCII text).</summary>
    public AlignedText WithSameLengthText(string text) =>
        text.Length == Length ? new AlignedText(text, _starts, _ends, OriginalStart, _offset) : throw new ArgumentException("text must keep the length");

    /// <summary><paramref name="prefix"/> in front, covering nothing (tokenizers aligns it to the first char; the range is empty either way).</summary>
    public AlignedText Prepend(string prefix)
    {
        var at = Length > 0 ? StartOf(0) : OriginalStart;
        var starts = new int[prefix.Length + Length];
        var ends = new int[starts.Length];
        Array.Fill(starts, at, 0, prefix.Length);
        Array.Fill(ends, at, 0, prefix.Length);
        Array.Copy(_starts, _offset, starts, prefix.Length, Length);
        Array.Copy(_ends, _offset, ends, prefix.Length, Length);
        return new AlignedText(prefix + Text, starts, ends, OriginalStart);
    }

    /// <summary>Builds a new text piece by piece; each appended string covers the original range of the chars it replaces.</summary>
    public sealed class Builder(int capacity, int originalStart)
    {
        readonly StringBuilder _text = new(capacity);
        readonly List<int> _starts = new(capacity);
        readonly List<int> _ends = new(capacity);

        public void Append(string s, int start, int end)
        {
            _text.Append(s);
            for (var i = 0; i < s.Length; i++) { _starts.Add(start); _ends.Add(end); }
        }

        public void Append(char c, int start, int end)
        {
            _text.Append(c);
            _starts.Add(start);
            _ends.Add(end);
        }

        public AlignedText Build() => new(_text.ToString(), _starts.ToArray(), _ends.ToArray(), originalStart);
    }

    /// <summary>
    /// Replaces chars [from, to) wholesale: every char of the result covers the union of their ranges. Used
    /// where a transformation (a Unicode normalization, a regex replacement) cannot be aligned char by char.
    /// </summary>
    public void CopyRange(Builder into, int from, int to)
    {
        for (var i = from; i < to; i++) into.Append(Text[i], StartOf(i), EndOf(i));
    }

    public override string ToString() => Text;
}
