using System.Text;
using System.Text.RegularExpressions;

namespace MultiLora.Data.Text.Hub;

/// <summary>Finds the non-overlapping matches [Start, End) of a tokenizer.json pattern, left to right.</summary>
public interface ISplitPattern
{
    void FindMatches(string text, List<(int Start, int End)> matches);
}

/// <summary>{"String": "..."}: a literal.</summary>
public sealed class LiteralPattern(string literal) : ISplitPattern
{
    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        if (literal.Length == 0) return;
        for (var at = text.IndexOf(literal, StringComparison.Ordinal); at >= 0; at = text.IndexOf(literal, at + literal.Length, StringComparison.Ordinal))
            matches.Add((at, at + literal.Length));
    }
}

/// <summary>
/// {"Regex": "..."} run by .NET's engine. tokenizers runs Oniguruma; the syntax hub files use (\p{L}, \s,
/// (?i:...), lookahead) means the same in both, except that .NET sees a character outside the BMP as two
/// surrogates of category Cs (see <see cref="KnownRegexScanner"/>, which the common patterns use instead).
/// </summary>
public sealed class DotNetRegexPattern : ISplitPattern
{
    readonly Regex _regex;

    public DotNetRegexPattern(string pattern) =>
        _regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(10));

    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        for (var m = _regex.Match(text); m.Success; m = m.NextMatch())
            if (m.Length > 0) matches.Add((m.Index, m.Index + m.Length));
    }
}

/// <summary>Every code point the predicate accepts is a match of its own (tokenizers' char-predicate patterns, e.g. Digits).</summary>
public sealed class CodePointPattern(Func<Rune, bool> accept) : ISplitPattern
{
    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        for (var i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            if (accept(rune)) matches.Add((i, i + rune.Utf16SequenceLength));
            i += rune.Utf16SequenceLength;
        }
    }

    /// <summary>Rust's char::is_numeric: the Unicode N categories.</summary>
    public static bool IsNumeric(Rune r) => Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.DecimalDigitNumber
        or System.Globalization.UnicodeCategory.LetterNumber or System.Globalization.UnicodeCategory.OtherNumber;
}
