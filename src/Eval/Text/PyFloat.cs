using System.Globalization;
using System.Text;

namespace MultiLora.Eval.Text;

/// <summary>
/// Python's float(str): Unicode decimal digits count as digits and Unicode whitespace as space, leading and
/// trailing ASCII whitespace is ignored, single underscores between digits are allowed, "inf"/"infinity"/"nan"
/// in any case with an optional sign; anything else is a ValueError (here: false). Judge replies are read this way
/// by MM-Vet's and LLaVA-Bench's scripts, so "٠.٥" is 0.5 and "1_0" is 10 there too.
/// </summary>
public static class PyFloat
{
    public static bool TryParse(string text, out double value)
    {
        value = 0;
        // _PyUnicode_TransformDecimalAndSpaceToASCII
        var sb = new StringBuilder();
        foreach (var cp in PyStr.CodePoints(text))
        {
            if (cp < 128) sb.Append((char)cp);
            else if (PyStr.IsSpace(cp)) sb.Append(' ');
            else if (PythonUnicode.DecimalValue(cp) is var d and >= 0) sb.Append((char)('0' + d));
            else return false;
        }
        var s = sb.ToString();
        static bool AsciiSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
        int a = 0, b = s.Length;
        while (a < b && AsciiSpace(s[a])) a++;
        while (b > a && AsciiSpace(s[b - 1])) b--;
        s = s[a..b];
        if (s.Contains('_'))
        {
            // _Py_string_to_number_with_underscores: '_' only between two digits.
            var clean = new StringBuilder();
            var prev = '\0';
            foreach (var c in s)
            {
                if (c == '_') { if (!char.IsAsciiDigit(prev)) return false; }
                else
                {
                    if (prev == '_' && !char.IsAsciiDigit(c)) return false;
                    clean.Append(c);
                }
                prev = c;
            }
            if (prev == '_') return false;
            s = clean.ToString();
        }
        return ParseAscii(s, out value);
    }

    static bool ParseAscii(string s, out double value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (i < s.Length && s[i] is '+' or '-') { negative = s[i] == '-'; i++; }
        var rest = s[i..].ToLowerInvariant();
        if (rest is "inf" or "infinity") { value = negative ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (rest == "nan") { value = double.NaN; return true; }
        // digits [. digits] [e [sign] digits], at least one mantissa digit
        var j = 0;
        var mantissaDigits = 0;
        while (j < rest.Length && char.IsAsciiDigit(rest[j])) { j++; mantissaDigits++; }
        if (j < rest.Length && rest[j] == '.')
        {
            j++;
            while (j < rest.Length && char.IsAsciiDigit(rest[j])) { j++; mantissaDigits++; }
        }
        if (mantissaDigits == 0) return false;
        if (j < rest.Length && rest[j] == 'e')
        {
            j++;
            if (j < rest.Length && rest[j] is '+' or '-') j++;
            var expDigits = 0;
            while (j < rest.Length && char.IsAsciiDigit(rest[j])) { j++; expDigits++; }
            if (expDigits == 0) return false;
        }
        if (j != rest.Length) return false;
        // .NET Core's parser is correctly rounded (IEEE), as Python's dtoa is; overflow gives infinity in both.
        value = double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        return true;
    }
}
