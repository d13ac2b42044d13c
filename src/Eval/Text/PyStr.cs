using System.Text;

namespace MultiLora.Eval.Text;

/// <summary>
/// Python 3 str semantics for the operations the reference scorers use, on any Unicode input: lower() (full case
/// mapping, final sigma), isspace/split()/strip() (Python's whitespace set, which includes \x1c-\x1f), isdecimal
/// (re's \d), len() in code points. Substring search and replace are ordinal, as Python's are.
/// Strings are handled as code points (a surrogate pair is one character, as in Python).
/// </summary>
public static class PyStr
{
    const int CapitalSigma = 0x3A3, SmallSigma = 0x3C3, FinalSigma = 0x3C2;

    public static bool IsSpace(int cp) => PythonUnicode.Space.Contains(cp);

    /// <summary>re's \d for str patterns (Py_UNICODE_ISDECIMAL).</summary>
    public static bool IsDecimal(int cp) => PythonUnicode.DecimalValue(cp) >= 0;

    public static int[] CodePoints(string s)
    {
        var cps = new List<int>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cps.Add(char.ConvertToUtf32(s[i], s[i + 1]));
                i++;
            }
            else cps.Add(s[i]);   // a lone surrogate stays one character, as in Python
        }
        return [.. cps];
    }

    public static string FromCodePoints(IEnumerable<int> cps)
    {
        var sb = new StringBuilder();
        foreach (var cp in cps) Append(sb, cp);
        return sb.ToString();
    }

    static void Append(StringBuilder sb, int cp)
    {
        if (cp is >= 0xD800 and <= 0xDFFF || cp < 0x10000) sb.Append((char)cp);
        else sb.Append(char.ConvertFromUtf32(cp));
    }

    /// <summary>len(s).</summary>
    public static int Len(string s) => CodePoints(s).Length;

    /// <summary>str.lower(): full lower-case mapping (İ -> i + U+0307) and the final-sigma rule of CPython.</summary>
    public static string Lower(string s)
    {
        var cps = CodePoints(s);
        var sb = new StringBuilder(s.Length);
        for (var i = 0; i < cps.Length; i++)
        {
            var cp = cps[i];
            if (cp == CapitalSigma) Append(sb, IsFinalSigma(cps, i) ? FinalSigma : SmallSigma);
            else if (PythonUnicode.Lower.TryGetValue(cp, out var lowered)) sb.Append(lowered);
            else Append(sb, cp);
        }
        return sb.ToString();
    }

    /// <summary>CPython's handle_capital_sigma: a cased letter before (skipping case-ignorables) and none after.</summary>
    static bool IsFinalSigma(int[] cps, int i)
    {
        var j = i - 1;
        while (j >= 0 && PythonUnicode.IsCaseIgnorable(cps[j])) j--;
        if (j < 0 || !PythonUnicode.IsCased(cps[j])) return false;
        j = i + 1;
        while (j < cps.Length && PythonUnicode.IsCaseIgnorable(cps[j])) j++;
        return j == cps.Length || !PythonUnicode.IsCased(cps[j]);
    }

    /// <summary>str.split() with no separator: runs of non-whitespace.</summary>
    public static List<string> Split(string s)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i < s.Length; i++)
        {
            // Every Python whitespace character is in the BMP, so a UTF-16 unit test is exact.
            if (IsSpace(s[i]))
            {
                if (start >= 0) { words.Add(s[start..i]); start = -1; }
            }
            else if (start < 0) start = i;
        }
        if (start >= 0) words.Add(s[start..]);
        return words;
    }

    /// <summary>str.strip() with no argument.</summary>
    public static string Strip(string s)
    {
        int a = 0, b = s.Length;
        while (a < b && IsSpace(s[a])) a++;
        while (b > a && IsSpace(s[b - 1])) b--;
        return s[a..b];
    }

    /// <summary>str.rstrip(chars) for a set of BMP characters (e.g. rstrip('.')).</summary>
    public static string RStrip(string s, string chars)
    {
        var b = s.Length;
        while (b > 0 && chars.Contains(s[b - 1])) b--;
        return s[..b];
    }

    /// <summary>str.split(sep) with a non-empty separator (no merging of empty fields, as in Python).</summary>
    public static string[] Split(string s, string sep) => s.Split(sep);
}
