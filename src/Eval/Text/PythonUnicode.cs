using System.Globalization;

namespace MultiLora.Eval.Text;

/// <summary>
/// CPython 3.11's character properties (Unicode 14.0), loaded from PythonUnicode.txt, which
/// python_unicode_tables.py reads off the interpreter itself: the full lower-case mapping, whitespace, decimal
/// digits, the final-sigma context classes and re.IGNORECASE's letter equivalents. .NET's own tables differ
/// (simple case mapping, no \x1c-\x1f whitespace, a different Unicode version), so Python semantics come from here.
/// </summary>
static class PythonUnicode
{
    public static readonly IReadOnlyDictionary<int, string> Lower;
    public static readonly IReadOnlySet<int> Space;
    static readonly (int First, int Last, int Value)[] Decimals;
    static readonly (int First, int Last)[] Ignorable;
    static readonly (int First, int Last)[] Cased;
    public static readonly IReadOnlyDictionary<char, IReadOnlySet<int>> IgnoreCase;

    static PythonUnicode()
    {
        var lower = new Dictionary<int, string>();
        var space = new HashSet<int>();
        var decimals = new List<(int, int, int)>();
        var ignorable = new List<(int, int)>();
        var cased = new List<(int, int)>();
        var ignoreCase = new Dictionary<char, IReadOnlySet<int>>();
        using var stream = typeof(PythonUnicode).Assembly.GetManifestResourceStream("MultiLora.Eval.Text.PythonUnicode.txt")
            ?? throw new InvalidOperationException("resource PythonUnicode.txt missing from the assembly");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(' ');
            static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            switch (f[0])
            {
                case "lower": lower[Hex(f[1])] = string.Concat(f.Skip(2).Select(h => char.ConvertFromUtf32(Hex(h)))); break;
                case "space": space.Add(Hex(f[1])); break;
                case "decimal": decimals.Add((Hex(f[1]), Hex(f[2]), int.Parse(f[3], CultureInfo.InvariantCulture))); break;
                case "ignorable": ignorable.Add((Hex(f[1]), Hex(f[2]))); break;
                case "cased": cased.Add((Hex(f[1]), Hex(f[2]))); break;
                case "ignorecase": ignoreCase[f[1][0]] = f.Skip(2).Select(Hex).ToHashSet(); break;
                default: throw new InvalidDataException($"PythonUnicode.txt: unknown line kind '{f[0]}'");
            }
        }
        Lower = lower;
        Space = space;
        Decimals = [.. decimals];
        Ignorable = [.. ignorable];
        Cased = [.. cased];
        IgnoreCase = ignoreCase;
    }

    /// <summary>The decimal value of a Unicode decimal digit (str.isdecimal), or -1.</summary>
    public static int DecimalValue(int cp)
    {
        var i = Find(Decimals, cp, d => d.First, d => d.Last);
        return i < 0 ? -1 : Decimals[i].Value + (cp - Decimals[i].First);
    }

    public static bool IsCaseIgnorable(int cp) => Find(Ignorable, cp, r => r.First, r => r.Last) >= 0;

    /// <summary>Cased, for characters that are not case-ignorable (the only ones final sigma asks about).</summary>
    public static bool IsCased(int cp) => Find(Cased, cp, r => r.First, r => r.Last) >= 0;

    static int Find<T>(T[] runs, int cp, Func<T, int> first, Func<T, int> last)
    {
        int lo = 0, hi = runs.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (cp < first(runs[mid])) hi = mid - 1;
            else if (cp > last(runs[mid])) lo = mid + 1;
            else return mid;
        }
        return -1;
    }
}
