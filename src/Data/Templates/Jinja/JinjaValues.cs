using System.Globalization;
using System.Text;

namespace MultiLora.Data.Templates.Jinja;

/// <summary>A variable or attribute that does not exist: renders as nothing, is falsy, fails "is defined".</summary>
public sealed class Undefined
{
    public static readonly Undefined Value = new();
    Undefined() { }
}

/// <summary>namespace(...): the one mutable object templates have ({% set ns.x = ... %} works across loop scopes).</summary>
public sealed class JinjaNamespace(OrderedDictionary<string, object?> values)
{
    public OrderedDictionary<string, object?> Values { get; } = values;
}

/// <summary>A callable value: a macro, a builtin function, or a bound method such as "abc".upper.</summary>
public delegate object? JinjaCallable(List<object?> args, OrderedDictionary<string, object?> kwargs);

public sealed class JinjaFunction(string name, JinjaCallable call)
{
    public string Name { get; } = name;
    public JinjaCallable Call { get; } = call;
}

/// <summary>
/// Values as templates see them: null (none), <see cref="Undefined"/>, bool, long, double, string,
/// List&lt;object?&gt; (lists and tuples), OrderedDictionary&lt;string, object?&gt; (mappings), <see cref="JinjaNamespace"/>,
/// <see cref="JinjaFunction"/>. Truthiness, equality, printing and JSON follow the hub's Jinja.
/// </summary>
public static class JinjaValues
{
    public static bool IsTrue(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long i => i != 0,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        OrderedDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "mapping",
        JinjaNamespace => "namespace",
        JinjaFunction => "function",
        _ => v.GetType().Name,
    };

    /// <summary>What {{ v }} prints: none and undefined print nothing, floats keep ".0", lists and mappings print as JSON.</summary>
    public static string ToOutput(object? v) => v switch
    {
        null or Undefined => "",
        _ => ToText(v),
    };

    /// <summary>String conversion for concatenation and the string filter.</summary>
    public static string ToText(object? v) => v switch
    {
        null => "null",
        Undefined => "undefined",
        bool b => b ? "true" : "false",
        long i => i.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        string s => s,
        List<object?> or OrderedDictionary<string, object?> or JinjaNamespace => ToJson(v, null, false, false, null, undefinedAsNull: false),
        JinjaFunction f => $"<function {f.Name}>",
        _ => v.ToString() ?? "",
    };

    static string FormatFloat(double d)
    {
        if (d == 0 && double.IsNegative(d)) return "-0.0";
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "Infinity" : "-Infinity";
        return d % 1 == 0 && Math.Abs(d) < 1e21 ? d.ToString("0.0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);
    }

    public static bool ValueEquals(object? a, object? b) => (a, b) switch
    {
        (null or Undefined, null or Undefined) => true,
        (long x, long y) => x == y,
        (long x, double y) => x == y,
        (double x, long y) => x == y,
        (double x, double y) => x == y,
        (bool x, bool y) => x == y,
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        _ => ReferenceEquals(a, b),
    };

    public static bool IsNumber(object? v) => v is long or double;
    public static double AsDouble(object? v) => v switch { long i => i, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    /// <summary>JSON as the tojson filter writes it (Python json.dumps layout: ", " and ": ", or indented).</summary>
    public static string ToJson(object? v, int? indent, bool ensureAscii, bool sortKeys, (string Item, string Key)? separators, bool undefinedAsNull = true)
    {
        var (item, key) = separators ?? (indent is > 0 ? (",", ": ") : (", ", ": "));
        var s = new StringBuilder();
        Write(v, 0);
        return s.ToString();

        void Write(object? value, int depth)
        {
            switch (value)
            {
                case null: s.Append("null"); break;
                case Undefined: s.Append(undefinedAsNull ? "null" : "undefined"); break;
                case bool b: s.Append(b ? "true" : "false"); break;
                case long i: s.Append(i.ToString(CultureInfo.InvariantCulture)); break;
                case double d: s.Append(d % 1 == 0 && Math.Abs(d) < 1e21 ? ((long)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture)); break;
                case string str: WriteString(str); break;
                case List<object?> list: Container('[', ']', list.Select(x => (string?)null).ToList(), list, depth); break;
                case OrderedDictionary<string, object?> dict: WriteMapping(dict, depth); break;
                case JinjaNamespace ns: WriteMapping(ns.Values, depth); break;
                default: throw new InvalidOperationException($"cannot convert {TypeName(value)} to JSON");
            }
        }

        void WriteMapping(OrderedDictionary<string, object?> dict, int depth)
        {
            var entries = dict.ToList();
            if (sortKeys) entries = entries.OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
            Container('{', '}', entries.Select(e => (string?)e.Key).ToList(), entries.Select(e => e.Value).ToList(), depth);
        }

        void Container(char open, char close, List<string?> keys, List<object?> values, int depth)
        {
            s.Append(open);
            var pad = indent is > 0 ? "\n" + new string(' ', indent.Value * (depth + 1)) : null;
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0) s.Append(item);
                if (pad is not null) s.Append(pad);
                if (keys[i] is { } k) { WriteString(k); s.Append(key); }
                Write(values[i], depth + 1);
            }
            if (pad is not null && values.Count > 0) s.Append('\n').Append(' ', indent!.Value * depth);
            s.Append(close);
        }

        void WriteString(string str)
        {
            s.Append('"');
            foreach (var c in str)
            {
                switch (c)
                {
                    case '"': s.Append("\\\""); break;
                    case '\\': s.Append("\\\\"); break;
                    case '\n': s.Append("\\n"); break;
                    case '\r': s.Append("\\r"); break;
                    case '\t': s.Append("\\t"); break;
                    case '\b': s.Append("\\b"); break;
                    case '\f': s.Append("\\f"); break;
                    default:
                        if (c < 0x20 || ensureAscii && c >= 0x7f) s.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else s.Append(c);
                        break;
                }
            }
            s.Append('"');
        }
    }

    /// <summary>Converts JSON (messages, tools) into template values.</summary>
    public static object? FromJson(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        null => null,
        System.Text.Json.Nodes.JsonArray a => a.Select(FromJson).ToList(),
        System.Text.Json.Nodes.JsonObject o => new OrderedDictionary<string, object?>(o.Select(p => KeyValuePair.Create(p.Key, FromJson(p.Value)))),
        System.Text.Json.Nodes.JsonValue v => v.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            System.Text.Json.JsonValueKind.True => true,
            System.Text.Json.JsonValueKind.False => false,
            System.Text.Json.JsonValueKind.Number => v.TryGetValue<long>(out var l) ? l : v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
