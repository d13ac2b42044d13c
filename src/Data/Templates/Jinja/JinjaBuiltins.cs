using System.Text;
using static MultiLora.Data.Templates.Jinja.JinjaValues;

namespace MultiLora.Data.Templates.Jinja;

/// <summary>
/// The filters, tests, global functions and string / mapping methods hub chat templates use, with the hub
/// Jinja's behaviour. A name not here is an error naming it (templates do not fail silently).
/// </summary>
static class JinjaBuiltins
{
    /// <summary>JavaScript String.prototype.trim's whitespace (what the hub Jinja's trim/strip remove).</summary>
    public static string Trim(string s, bool start = true, bool end = true)
    {
        int from = 0, to = s.Length;
        if (start) while (from < to && JinjaLexer.IsJsWhitespace(s[from])) from++;
        if (end) while (to > from && JinjaLexer.IsJsWhitespace(s[to - 1])) to--;
        return s[from..to];
    }

    static string StripChars(string s, string chars, bool start, bool end)
    {
        int from = 0, to = s.Length;
        if (start) while (from < to && chars.Contains(s[from])) from++;
        if (end) while (to > from && chars.Contains(s[to - 1])) to--;
        return s[from..to];
    }

    static object? Arg(List<object?> args, OrderedDictionary<string, object?> kwargs, int index, string name, object? fallback = null) =>
        index < args.Count ? args[index] : kwargs.TryGetValue(name, out var v) ? v : fallback;

    public static object? Test(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "mapping" => v is OrderedDictionary<string, object?>,
        "iterable" => v is List<object?> or string,
        "sequence" => v is List<object?> or string or OrderedDictionary<string, object?>,
        "callable" => v is JinjaFunction,
        "odd" => v is long i ? i % 2 != 0 : throw new InvalidOperationException($"cannot test odd on {TypeName(v)}"),
        "even" => v is long j ? j % 2 == 0 : throw new InvalidOperationException($"cannot test even on {TypeName(v)}"),
        "divisibleby" => v is long a && args.Count > 0 && args[0] is long b && b != 0 ? a % b == 0 : throw new InvalidOperationException("divisibleby needs two integers"),
        "lower" => v is string s && s == s.ToLowerInvariant(),
        "upper" => v is string u && u == u.ToUpperInvariant(),
        "equalto" or "eq" or "==" or "sameas" => args.Count > 0 && ValueEquals(v, args[0]),
        "ne" or "!=" => args.Count > 0 && !ValueEquals(v, args[0]),
        "in" => args.Count > 0 && Contains(args[0], v),
        _ => throw new InvalidOperationException($"unknown test '{name}'"),
    };

    public static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new InvalidOperationException($"'in <string>' needs a string, not {TypeName(item)}"),
        List<object?> l => l.Any(x => ValueEquals(x, item)),
        OrderedDictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Undefined => false,
        _ => throw new InvalidOperationException($"'in' is not defined for {TypeName(container)}"),
    };

    /// <summary>obj.name / obj[key]: mapping entries, then methods; list and string indexes (negative from the end).</summary>
    public static object? Member(object? obj, object? key) => obj switch
    {
        OrderedDictionary<string, object?> d when key is string k => d.TryGetValue(k, out var v) ? v : DictMethod(d, k),
        JinjaNamespace ns when key is string k => ns.Values.TryGetValue(k, out var v) ? v : Undefined.Value,
        List<object?> l when key is long i => i < -l.Count || i >= l.Count ? Undefined.Value : l[(int)(i < 0 ? l.Count + i : i)],
        string s when key is long i => i < -s.Length || i >= s.Length ? Undefined.Value : s[(int)(i < 0 ? s.Length + i : i)].ToString(),
        string s when key is string m => StringMethod(s, m),
        List<object?> l when key is string m => ListMethod(l, m),
        _ => Undefined.Value,
    };

    static object? ListMethod(List<object?> list, string name) => name switch
    {
        "length" => (long)list.Count,
        "append" => new JinjaFunction(name, (a, _) => { list.Add(a.FirstOrDefault()); return null; }),
        _ => Undefined.Value,
    };

    static object? DictMethod(OrderedDictionary<string, object?> d, string name) => name switch
    {
        "items" => new JinjaFunction(name, (_, _) => Items(d)),
        "keys" => new JinjaFunction(name, (_, _) => d.Keys.Cast<object?>().ToList()),
        "values" => new JinjaFunction(name, (_, _) => d.Values.ToList()),
        "get" => new JinjaFunction(name, (a, kw) => a.Count > 0 && a[0] is string k && d.TryGetValue(k, out var v) ? v : Arg(a, kw, 1, "default", null)),
        _ => Undefined.Value,
    };

    static List<object?> Items(OrderedDictionary<string, object?> d) => d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList();

    static object? StringMethod(string s, string name) => name switch
    {
        "length" => (long)s.Length,
        "upper" => Fn(name, (_, _) => s.ToUpperInvariant()),
        "lower" => Fn(name, (_, _) => s.ToLowerInvariant()),
        "title" => Fn(name, (_, _) => Title(s)),
        "capitalize" => Fn(name, (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..]),
        "strip" => Fn(name, (a, _) => a.Count > 0 && a[0] is string c ? StripChars(s, c, true, true) : Trim(s)),
        "lstrip" => Fn(name, (a, _) => a.Count > 0 && a[0] is string c ? StripChars(s, c, true, false) : Trim(s, end: false)),
        "rstrip" => Fn(name, (a, _) => a.Count > 0 && a[0] is string c ? StripChars(s, c, false, true) : Trim(s, start: false)),
        "startswith" => Fn(name, (a, _) => Affix(a, x => s.StartsWith(x, StringComparison.Ordinal), name)),
        "endswith" => Fn(name, (a, _) => Affix(a, x => s.EndsWith(x, StringComparison.Ordinal), name)),
        "split" => Fn(name, (a, kw) => Split(s, Arg(a, kw, 0, "sep"), Arg(a, kw, 1, "maxsplit", -1L))),
        "replace" => Fn(name, (a, kw) => Replace(s, a, kw)),
        "find" => Fn(name, (a, _) => a.Count > 0 && a[0] is string x ? (long)s.IndexOf(x, StringComparison.Ordinal) : throw new InvalidOperationException("find() needs a string")),
        "count" => Fn(name, (a, _) => a.Count > 0 && a[0] is string x && x.Length > 0 ? (long)((s.Length - s.Replace(x, "", StringComparison.Ordinal).Length) / x.Length) : 0L),
        "join" => Fn(name, (a, _) => a.Count > 0 && a[0] is List<object?> l ? string.Join(s, l.Select(ToText)) : throw new InvalidOperationException("join() needs a list")),
        "isdigit" => Fn(name, (_, _) => s.Length > 0 && s.All(char.IsDigit)),
        "isspace" => Fn(name, (_, _) => s.Length > 0 && s.All(char.IsWhiteSpace)),
        _ => Undefined.Value,
    };

    static JinjaFunction Fn(string name, JinjaCallable call) => new(name, call);

    static bool Affix(List<object?> args, Func<string, bool> test, string name) => args.FirstOrDefault() switch
    {
        string x => test(x),
        List<object?> l => l.Any(x => x is string str ? test(str) : throw new InvalidOperationException($"{name}() tuple elements must be strings")),
        _ => throw new InvalidOperationException($"{name}() needs a string or a tuple of strings"),
    };

    static string Title(string s)
    {
        var b = new StringBuilder(s.Length);
        var startOfWord = true;
        foreach (var c in s)
        {
            b.Append(startOfWord ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            startOfWord = char.IsWhiteSpace(c) || c is '-' or '_' or '(' or '[' or '{' or '<' or '"' or '\'';
        }
        return b.ToString();
    }

    /// <summary>Python's str.split(sep=None, maxsplit=-1).</summary>
    static List<object?> Split(string s, object? sep, object? maxsplit)
    {
        var max = maxsplit is long m ? m : -1;
        var result = new List<object?>();
        if (sep is null or Undefined)
        {
            var rest = Trim(s, end: false);
            while (rest.Length > 0)
            {
                if (max >= 0 && result.Count >= max) { result.Add(rest); break; }
                var cut = 0;
                while (cut < rest.Length && !JinjaLexer.IsJsWhitespace(rest[cut])) cut++;
                result.Add(rest[..cut]);
                rest = Trim(rest[cut..], end: false);
            }
            return result;
        }
        if (sep is not string separator) throw new InvalidOperationException("split() separator must be a string or none");
        if (separator.Length == 0) throw new InvalidOperationException("split(): empty separator");
        var parts = s.Split(separator);
        if (max < 0 || parts.Length <= max) return parts.Cast<object?>().ToList();
        result.AddRange(parts.Take((int)max));
        result.Add(string.Join(separator, parts.Skip((int)max)));
        return result;
    }

    static string Replace(string s, List<object?> args, OrderedDictionary<string, object?> kwargs)
    {
        if (args.Count < 2 || args[0] is not string old || args[1] is not string replacement)
            throw new InvalidOperationException("replace() needs two strings");
        var count = Arg(args, kwargs, 2, "count") is long c ? c : -1;
        if (count < 0) return old.Length == 0 ? string.Join(replacement, s.Select(ch => ch.ToString()).Prepend("").Append("")) : s.Replace(old, replacement, StringComparison.Ordinal);
        var b = new StringBuilder();
        var at = 0;
        for (var n = 0; n < count; n++)
        {
            var i = s.IndexOf(old, at, StringComparison.Ordinal);
            if (i < 0 || old.Length == 0) break;
            b.Append(s, at, i - at).Append(replacement);
            at = i + old.Length;
        }
        return b.Append(s, at, s.Length - at).ToString();
    }

    /// <summary>Filters with their arguments already evaluated.</summary>
    public static object? Filter(string name, object? v, List<object?> args, OrderedDictionary<string, object?> kwargs, Func<string, object?, List<object?>, object?> test) => name switch
    {
        "safe" or "e" or "escape" when v is string => v,
        "tojson" => ToJson(v, Arg(args, kwargs, 0, "indent") as long? is { } i ? (int)i : null, Arg(args, kwargs, 99, "ensure_ascii") is true,
                           Arg(args, kwargs, 99, "sort_keys") is true, Arg(args, kwargs, 99, "separators") is List<object?> { Count: 2 } sep ? ((string)sep[0]!, (string)sep[1]!) : null),
        "trim" => v is string s ? (args.FirstOrDefault() is string chars ? StripChars(s, chars, true, true) : Trim(s)) : throw Bad(name, v),
        "upper" or "lower" or "title" or "capitalize" => v is string s ? ((JinjaFunction)StringMethod(s, name)!).Call([], []) : throw Bad(name, v),
        "length" or "count" => v switch
        {
            string s => (long)s.Length,
            List<object?> l => (long)l.Count,
            OrderedDictionary<string, object?> d => (long)d.Count,
            _ => throw Bad(name, v),
        },
        "default" or "d" => v is Undefined || Arg(args, kwargs, 1, "boolean") is true && !IsTrue(v) ? Arg(args, kwargs, 0, "default_value", "") : v,
        "join" => v switch
        {
            List<object?> l => string.Join(Arg(args, kwargs, 0, "d", "") as string ?? "", l.Select(x => Arg(args, kwargs, 1, "attribute") is string attr ? ToText(Member(x, attr)) : ToText(x))),
            string s => string.Join(Arg(args, kwargs, 0, "d", "") as string ?? "", s.EnumerateRunes().Select(r => r.ToString())),
            _ => throw Bad(name, v),
        },
        "items" => v is OrderedDictionary<string, object?> d ? Items(d) : throw Bad(name, v),
        "list" => v switch { List<object?> l => l.ToList(), string s => s.Select(c => (object?)c.ToString()).ToList(), OrderedDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(), _ => throw Bad(name, v) },
        "first" => v is List<object?> l ? (l.Count > 0 ? l[0] : Undefined.Value) : v is string s ? (s.Length > 0 ? s[..1] : Undefined.Value) : throw Bad(name, v),
        "last" => v is List<object?> l ? (l.Count > 0 ? l[^1] : Undefined.Value) : v is string s ? (s.Length > 0 ? s[^1..] : Undefined.Value) : throw Bad(name, v),
        "reverse" => v is List<object?> l ? Enumerable.Reverse(l).ToList() : v is string s ? new string(s.Reverse().ToArray()) : throw Bad(name, v),
        "string" => v is string ? v : ToText(v),
        "int" => v switch { long => v, double d => (long)Math.Floor(d), bool b => b ? 1L : 0L, string s => long.TryParse(Trim(s), out var i) ? i : Arg(args, kwargs, 0, "default", 0L), _ => throw Bad(name, v) },
        "float" => v switch { long i => (double)i, double => v, bool b => b ? 1.0 : 0.0, string s => double.TryParse(Trim(s), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var f) ? f : Arg(args, kwargs, 0, "default", 0.0), _ => throw Bad(name, v) },
        "abs" => v switch { long i => Math.Abs(i), double d => Math.Abs(d), _ => throw Bad(name, v) },
        "bool" => IsTrue(v),
        "unique" => v is List<object?> l ? l.Aggregate(new List<object?>(), (acc, x) => { if (!acc.Any(y => ValueEquals(x, y))) acc.Add(x); return acc; }) : throw Bad(name, v),
        "sort" => v is List<object?> l ? Sort(l, Arg(args, kwargs, 0, "reverse") is true, Arg(args, kwargs, 1, "case_sensitive") is true, Arg(args, kwargs, 2, "attribute")) : throw Bad(name, v),
        "selectattr" or "rejectattr" => v is List<object?> l ? l.Where(x =>
        {
            var attr = Member(x, args.ElementAtOrDefault(0) is string a ? a : throw new InvalidOperationException($"{name} needs an attribute name"));
            var ok = args.Count > 1 ? IsTrue(test((string)args[1]!, attr, args.Skip(2).ToList())) : IsTrue(attr);
            return attr is not Undefined && (name == "selectattr" ? ok : !ok) || attr is Undefined && name == "rejectattr";
        }).ToList() : throw Bad(name, v),
        "select" or "reject" => v is List<object?> l ? l.Where(x =>
        {
            var ok = args.Count > 0 ? IsTrue(test((string)args[0]!, x, args.Skip(1).ToList())) : IsTrue(x);
            return name == "select" ? ok : !ok;
        }).ToList() : throw Bad(name, v),
        "map" => v is List<object?> l ? l.Select(x => kwargs.TryGetValue("attribute", out var attr) && attr is string a
                ? (Member(x, a) is var m && m is Undefined && kwargs.TryGetValue("default", out var dv) ? dv : Member(x, a))
                : args.FirstOrDefault() is string f ? Filter(f, x, args.Skip(1).ToList(), [], test) : throw new InvalidOperationException("map needs attribute= or a filter name")).ToList() : throw Bad(name, v),
        "indent" => v is string s ? Indent(s, Arg(args, kwargs, 0, "width", 4L), Arg(args, kwargs, 1, "first") is true, Arg(args, kwargs, 2, "blank") is true) : throw Bad(name, v),
        "replace" => v is string s ? Replace(s, args, kwargs) : throw Bad(name, v),
        "wordcount" => v is string s ? (long)Split(s, null, -1L).Count : throw Bad(name, v),
        "min" or "max" => v is List<object?> l && l.Count > 0 ? (name == "min" ? Sort(l, false, false, null)[0] : Sort(l, false, false, null)[^1]) : Undefined.Value,
        "sum" => v is List<object?> l ? l.Aggregate((object?)0L, (acc, x) => acc is long a && x is long b ? a + b : AsDouble(acc) + AsDouble(x)) : throw Bad(name, v),
        "dictsort" => v is OrderedDictionary<string, object?> d ? Items(d).OrderBy(p => (string)((List<object?>)p!)[0]!, StringComparer.OrdinalIgnoreCase).ToList() : throw Bad(name, v),
        _ => throw new InvalidOperationException($"unknown filter '{name}'"),
    };

    static InvalidOperationException Bad(string filter, object? v) => new($"filter '{filter}' cannot be applied to {TypeName(v)}");

    static string Indent(string s, object? width, bool first, bool blank)
    {
        var pad = width is long w ? new string(' ', (int)w) : width as string ?? "    ";
        var lines = s.Split('\n');
        return string.Join("\n", lines.Select((line, i) => !first && i == 0 || !blank && line.Length == 0 ? line : pad + line));
    }

    static List<object?> Sort(List<object?> l, bool reverse, bool caseSensitive, object? attribute)
    {
        object? Key(object? x) => attribute is string a ? Member(x, a) : attribute is long i ? Member(x, i) : x;
        int Compare(object? a, object? b)
        {
            if (a is string x && b is string y) return caseSensitive ? string.CompareOrdinal(x, y) : string.CompareOrdinal(x.ToLowerInvariant(), y.ToLowerInvariant());
            if (IsNumber(a) && IsNumber(b) || a is bool || b is bool) return AsDouble(a).CompareTo(AsDouble(b));
            throw new InvalidOperationException($"cannot compare {TypeName(a)} with {TypeName(b)}");
        }
        var sorted = l.OrderBy(Key, Comparer<object?>.Create(Compare)).ToList();
        if (reverse) sorted.Reverse();
        return sorted;
    }
}
