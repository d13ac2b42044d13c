using System.Globalization;
using System.Text;

namespace MultiLora.Data.Text.Hub;

/// <summary>
/// The pre-tokenization regexes nearly every byte-level tokenizer uses, matched by hand over code points:
/// GPT-2's (ByteLevel with use_regex) and the Llama-3 / Qwen2 one (a Split pre-tokenizer; Qwen takes one
/// digit at a time, Llama 3 up to three). Hand-matching is exact where .NET's regex engine is not (it sees an
/// astral letter such as 𠮷 as two non-letter surrogates, Oniguruma as one letter) and several times faster.
/// Each branch below is one alternative of the pattern, tried in the pattern's order, as the regex would.
/// </summary>
public sealed class KnownRegexScanner : ISplitPattern
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    enum Flavor { Gpt2, Llama3 }
    readonly Flavor _flavor;
    readonly int _maxDigits;

    KnownRegexScanner(Flavor flavor, int maxDigits) { _flavor = flavor; _maxDigits = maxDigits; }

    /// <summary>The scanner for a pattern this class knows, else null.</summary>
    public static KnownRegexScanner? For(string pattern) => pattern switch
    {
        Gpt2 => new KnownRegexScanner(Flavor.Gpt2, int.MaxValue),
        Llama3 => new KnownRegexScanner(Flavor.Llama3, 3),
        Qwen2 => new KnownRegexScanner(Flavor.Llama3, 1),
        _ => null,
    };

    // Character classes of one code point: letter (\p{L}), number (\p{N}), whitespace (\s: Oniguruma's Unicode
    // White_Space, the same set as .NET's char.IsWhiteSpace), or anything else.
    const byte Other = 0, Letter = 1, Number = 2, Space = 3;
    static readonly byte[] BmpClass = BuildBmpTable();

    static byte[] BuildBmpTable()
    {
        var table = new byte[0x10000];
        for (var c = 0; c < table.Length; c++)
            table[c] = c is >= 0xD800 and <= 0xDFFF ? Other : Classify(new Rune(c));
        return table;
    }

    static byte Classify(Rune r)
    {
        if (Rune.IsWhiteSpace(r)) return Space;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }

    public void FindMatches(string text, List<(int Start, int End)> matches)
    {
        // Decode once: code point classes and their UTF-16 positions.
        var n = 0;
        var cls = new byte[text.Length];
        var pos = new int[text.Length + 1];
        var cp = new int[text.Length];
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var rune = new Rune(c, text[i + 1]);
                cls[n] = Classify(rune); cp[n] = rune.Value; pos[n++] = i; i += 2;
            }
            else { cls[n] = BmpClass[c]; cp[n] = c; pos[n++] = i; i += 1; }
        }
        pos[n] = text.Length;

        for (var i = 0; i < n;)
        {
            var end = _flavor == Flavor.Gpt2 ? MatchGpt2(cls, cp, n, i) : MatchLlama3(cls, cp, n, i);
            matches.Add((pos[i], pos[end]));
            i = end;
        }
    }

    static bool IsNewline(int c) => c is '\r' or '\n';

    int RunOf(byte[] cls, int n, int i, byte k, int max = int.MaxValue)
    {
        var j = i;
        while (j < n && cls[j] == k && j - i < max) j++;
        return j;
    }

    /// <summary>'s|'t|'re|'ve|'m|'ll|'d, case-sensitive or (Llama 3) not; returns the end or -1.</summary>
    static int Contraction(int[] cp, int n, int i, bool ignoreCase)
    {
        if (cp[i] != '\'' || i + 1 >= n) return -1;
        static int Fold(int c) => c == 0x17F ? 's' : c is >= 'A' and <= 'Z' ? c + 32 : c; // (?i) folds ſ to s
        int a = ignoreCase ? Fold(cp[i + 1]) : cp[i + 1];
        if (a is 's' or 't' or 'm' or 'd') return i + 2;
        if (i + 2 >= n) return -1;
        int b = ignoreCase ? Fold(cp[i + 2]) : cp[i + 2];
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? i + 3 : -1;
    }

    int MatchGpt2(byte[] cls, int[] cp, int n, int i)
    {
        var c = Contraction(cp, n, i, ignoreCase: false);
        if (c >= 0) return c;
        var j = cp[i] == ' ' && i + 1 < n ? i + 1 : i; // " ?"
        foreach (var k in new[] { Letter, Number })
        {
            if (cls[j] == k) return RunOf(cls, n, j, k);
            if (j != i && cls[i] == k) return RunOf(cls, n, i, k);
        }
        if (cls[j] == Other) return RunOf(cls, n, j, Other);
        return Whitespace(cls, n, i);
    }

    int MatchLlama3(byte[] cls, int[] cp, int n, int i)
    {
        var c = Contraction(cp, n, i, ignoreCase: true);
        if (c >= 0) return c;
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (cls[i] == Letter) return RunOf(cls, n, i, Letter);
        if (cls[i] != Number && !IsNewline(cp[i]) && i + 1 < n && cls[i + 1] == Letter) return RunOf(cls, n, i + 1, Letter);
        // \p{N}{1,max}
        if (cls[i] == Number) return RunOf(cls, n, i, Number, _maxDigits);
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        var j = cp[i] == ' ' && i + 1 < n && cls[i + 1] == Other ? i + 1 : i;
        if (cls[j] == Other)
        {
            var e = RunOf(cls, n, j, Other);
            while (e < n && IsNewline(cp[e])) e++;
            return e;
        }
        // \s*[\r\n]+ : the whitespace run up to and including its last \r or \n
        var run = RunOf(cls, n, i, Space);
        for (var k = run - 1; k >= i; k--)
            if (IsNewline(cp[k])) return k + 1;
        return Whitespace(cls, n, i);
    }

    /// <summary>\s+(?!\S)|\s+ : a whitespace run, leaving its last char to the word after it.</summary>
    int Whitespace(byte[] cls, int n, int i)
    {
        var run = RunOf(cls, n, i, Space);
        if (run == n || run - 1 == i) return run;
        return run - 1;
    }
}
