using System.Globalization;
using System.Text;
using MultiLora.Data.Text.Hub.Unicode;

namespace MultiLora.Data.Text.Hub;

/// <summary>A tokenizer.json "normalizer": rewrites text before pre-tokenization, keeping each char's original range.</summary>
public interface ITextNormalizer
{
    AlignedText Normalize(AlignedText text);
}

/// <summary>NFC / NFD / NFKC / NFKD (<see cref="UnicodeNormalization"/>). Text already in the form (nearly all of it) passes through untouched.</summary>
public sealed class UnicodeNormalizer(NormalizationForm form) : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text)
    {
        if (UnicodeNormalization.IsNormalized(text.Text, form)) return text;
        var whole = UnicodeNormalization.Normalize(text.Text, form);
        // Align grapheme by grapheme: normalization does not reach across grapheme clusters, so each cluster's
        // normalized chars cover that cluster. Should the pieces ever not add up to the whole, the ids still
        // come from the whole string and every char covers the entire piece.
        var into = new AlignedText.Builder(whole.Length, text.OriginalStart);
        var pieces = new StringBuilder(whole.Length);
        var enumerator = StringInfo.GetTextElementEnumerator(text.Text);
        while (enumerator.MoveNext())
        {
            var from = enumerator.ElementIndex;
            var element = (string)enumerator.Current;
            var normalized = UnicodeNormalization.Normalize(element, form);
            pieces.Append(normalized);
            if (normalized == element) text.CopyRange(into, from, from + element.Length);
            else
            {
                var (s, e) = text.OriginalRange(from, from + element.Length);
                into.Append(normalized, s, e);
            }
        }
        if (pieces.ToString() == whole) return into.Build();
        var (start, end) = text.OriginalRange(0, text.Length);
        var coarse = new AlignedText.Builder(whole.Length, text.OriginalStart);
        coarse.Append(whole, start, end);
        return coarse.Build();
    }
}

/// <summary>Unicode lowercase per char (Rust's char::to_lowercase: 'İ' becomes "i̇").</summary>
public sealed class LowercaseNormalizer : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text)
    {
        var into = new AlignedText.Builder(text.Length, text.OriginalStart);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text.Text[i];
            if (c == '\u0130') into.Append("i\u0307", text.StartOf(i), text.EndOf(i));
            else into.Append(char.ToLowerInvariant(c), text.StartOf(i), text.EndOf(i));
        }
        return into.Build();
    }
}

/// <summary>Strip: removes leading and/or trailing whitespace.</summary>
public sealed class StripNormalizer(bool left, bool right) : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text)
    {
        int from = 0, to = text.Length;
        if (left) while (from < to && char.IsWhiteSpace(text.Text[from])) from++;
        if (right) while (to > from && char.IsWhiteSpace(text.Text[to - 1])) to--;
        return from == 0 && to == text.Length ? text : text.Slice(from, to);
    }
}

/// <summary>Prepend: puts a string in front of any non-empty text (Llama's legacy "▁").</summary>
public sealed class PrependNormalizer(string prefix) : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text) => text.Length == 0 || prefix.Length == 0 ? text : text.Prepend(prefix);
}

/// <summary>Replace: every match of the pattern becomes <c>content</c>, covering what the match covered.</summary>
public sealed class ReplaceNormalizer(ISplitPattern pattern, string content) : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text) => Replace(text, pattern, content);

    public static AlignedText Replace(AlignedText text, ISplitPattern pattern, string content)
    {
        var matches = new List<(int Start, int End)>();
        pattern.FindMatches(text.Text, matches);
        if (matches.Count == 0) return text;
        var into = new AlignedText.Builder(text.Length, text.OriginalStart);
        var at = 0;
        foreach (var (s, e) in matches)
        {
            text.CopyRange(into, at, s);
            if (content.Length == e - s)
                for (var i = 0; i < content.Length; i++) into.Append(content[i], text.StartOf(s + i), text.EndOf(s + i));
            else
            {
                var (os, oe) = text.OriginalRange(s, e);
                into.Append(content, os, oe);
            }
            at = e;
        }
        text.CopyRange(into, at, text.Length);
        return into.Build();
    }
}

public sealed class SequenceNormalizer(IReadOnlyList<ITextNormalizer> normalizers) : ITextNormalizer
{
    public AlignedText Normalize(AlignedText text)
    {
        foreach (var n in normalizers) text = n.Normalize(text);
        return text;
    }
}
