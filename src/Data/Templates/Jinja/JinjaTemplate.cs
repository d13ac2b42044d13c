using System.Globalization;
using System.Text;
using static MultiLora.Data.Templates.Jinja.JinjaValues;

namespace MultiLora.Data.Templates.Jinja;

/// <summary>A rendered template: the text and the [Start, End) ranges of it written inside {% generation %} blocks.</summary>
public sealed record RenderResult(string Text, IReadOnlyList<(int Start, int End)> GenerationSpans);

/// <summary>
/// A parsed chat template (the Jinja2 subset hub chat templates use, with the hub Jinja's semantics) that
/// renders against a context of variables (messages, add_generation_prompt, bos_token, ...). Parse errors and
/// render errors (including raise_exception) are <see cref="TemplateException"/>s naming origin and line:column.
/// </summary>
public sealed class JinjaTemplate
{
    readonly IReadOnlyList<Node> _body;
    readonly string _source;
    public string Origin { get; }

    JinjaTemplate(IReadOnlyList<Node> body, string source, string origin) { _body = body; _source = source; Origin = origin; }

    public static JinjaTemplate Parse(string source, string origin) => new(JinjaParser.Parse(source, origin), source, origin);

    /// <summary>True when the template has {% generation %} blocks (it marks the assistant's text itself).</summary>
    public bool HasGenerationBlocks => _source.Contains("generation", StringComparison.Ordinal)
        && System.Text.RegularExpressions.Regex.IsMatch(_source, @"{%-?\s*generation\s*-?%}");

    public RenderResult Render(IReadOnlyDictionary<string, object?> context)
    {
        var scope = new JinjaScope(null);
        foreach (var (name, value) in Globals()) scope.Set(name, value);
        foreach (var (name, value) in context) scope.Set(name, value);
        var output = new StringBuilder();
        new Interpreter(this).Block(_body, scope, output);
        return ExtractGenerationSpans(output.ToString());
    }

    static RenderResult ExtractGenerationSpans(string marked)
    {
        if (marked.IndexOfAny([JinjaLexer.GenerationStart, JinjaLexer.GenerationEnd]) < 0) return new RenderResult(marked, []);
        var text = new StringBuilder(marked.Length);
        var spans = new List<(int, int)>();
        var open = -1;
        foreach (var c in marked)
        {
            if (c == JinjaLexer.GenerationStart) open = text.Length;
            else if (c == JinjaLexer.GenerationEnd) { if (open >= 0 && text.Length > open) spans.Add((open, text.Length)); open = -1; }
            else text.Append(c);
        }
        return new RenderResult(text.ToString(), spans);
    }

    SourcePosition Position(int offset) => SourcePosition.Of(_source, offset);

    sealed class RaiseSignal(string message) : Exception(message);
    sealed class BreakSignal : Exception;
    sealed class ContinueSignal : Exception;

    static IEnumerable<(string, object?)> Globals()
    {
        yield return ("raise_exception", new JinjaFunction("raise_exception", (a, _) => throw new RaiseSignal(a.Count > 0 ? ToText(a[0]) : "")));
        yield return ("range", new JinjaFunction("range", (a, _) => Range(a)));
        yield return ("namespace", new JinjaFunction("namespace", (a, kw) =>
        {
            var values = new OrderedDictionary<string, object?>();
            if (a.Count > 0 && a[0] is OrderedDictionary<string, object?> d) foreach (var (k, v) in d) values[k] = v;
            foreach (var (k, v) in kw) values[k] = v;
            return new JinjaNamespace(values);
        }));
        yield return ("dict", new JinjaFunction("dict", (_, kw) => new OrderedDictionary<string, object?>(kw)));
        yield return ("strftime_now", new JinjaFunction("strftime_now", (a, _) => Strftime(DateTime.Now, a.Count > 0 ? ToText(a[0]) : "")));
    }

    static List<object?> Range(List<object?> a)
    {
        long Int(int i) => a[i] is long l ? l : throw new InvalidOperationException("range() takes integers");
        var (start, stop, step) = a.Count switch
        {
            1 => (0L, Int(0), 1L),
            2 => (Int(0), Int(1), 1L),
            3 => (Int(0), Int(1), Int(2)),
            _ => throw new InvalidOperationException("range() takes 1 to 3 arguments"),
        };
        if (step == 0) throw new InvalidOperationException("range() step must not be zero");
        var result = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    /// <summary>Python's strftime for the directives templates use (Llama 3.1 writes "26 Jul 2024").</summary>
    static string Strftime(DateTime t, string format)
    {
        var s = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { s.Append(format[i]); continue; }
            var d = format[++i];
            s.Append(d switch
            {
                'Y' => t.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => t.ToString("yy", CultureInfo.InvariantCulture),
                'm' => t.ToString("MM", CultureInfo.InvariantCulture),
                'd' => t.ToString("dd", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'H' => t.ToString("HH", CultureInfo.InvariantCulture),
                'M' => t.ToString("mm", CultureInfo.InvariantCulture),
                'S' => t.ToString("ss", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + d,
            });
        }
        return s.ToString();
    }

    sealed class Interpreter(JinjaTemplate template)
    {
        TemplateException Error(Node at, string message) => new(template.Origin, template.Position(at.Offset), message);

        public void Block(IReadOnlyList<Node> nodes, JinjaScope scope, StringBuilder output)
        {
            foreach (var node in nodes) Statement(node, scope, output);
        }

        string Capture(IReadOnlyList<Node> nodes, JinjaScope scope)
        {
            var s = new StringBuilder();
            Block(nodes, scope, s);
            return s.ToString();
        }

        void Statement(Node node, JinjaScope scope, StringBuilder output)
        {
            switch (node)
            {
                case TextNode t: output.Append(t.Text); break;
                case OutputNode o: output.Append(ToOutput(Eval(o.Value, scope))); break;
                case IfNode i: Block(IsTrue(Eval(i.Test, scope)) ? i.Body : i.Else, scope, output); break;
                case ForNode f: For(f, scope, output); break;
                case SetNode s: Set(s, scope); break;
                case MacroNode m: scope.Set(m.Name, Macro(m.Name, m.Parameters, m.Body, scope, null)); break;
                case CallBlockNode c:
                {
                    var caller = Macro("caller", c.CallerParameters, c.Body, scope, null);
                    var callee = Eval(c.Call.Callee, scope) as JinjaFunction ?? throw Error(c, "{% call %} needs a macro");
                    var (args, kwargs) = Arguments(c.Call.Arguments, scope);
                    kwargs["caller"] = caller;
                    output.Append(ToOutput(Invoke(c, callee, args, kwargs)));
                    break;
                }
                case FilterBlockNode fb:
                {
                    var filter = (FilterExpr)fb.Filter;
                    var (args, kwargs) = Arguments(filter.Arguments, scope);
                    output.Append(ToOutput(Guard(fb, () => JinjaBuiltins.Filter(filter.Name, Capture(fb.Body, scope), args, kwargs, TestByName))));
                    break;
                }
                case BreakNode: throw new BreakSignal();
                case ContinueNode: throw new ContinueSignal();
                default: throw Error(node, $"unexpected {node.GetType().Name}");
            }
        }

        void For(ForNode f, JinjaScope scope, StringBuilder output)
        {
            var loopScope = new JinjaScope(scope);
            var iterable = Eval(f.Iterable, loopScope) switch
            {
                List<object?> l => l,
                OrderedDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
                string s => s.Select(c => (object?)c.ToString()).ToList(),
                Undefined => [],
                var other => throw Error(f.Iterable, $"cannot loop over {TypeName(other)}"),
            };
            var items = new List<object?>();
            foreach (var item in iterable)
            {
                if (f.Filter is null) { items.Add(item); continue; }
                var test = new JinjaScope(loopScope);
                Bind(f.Target, item, test, f);
                if (IsTrue(Eval(f.Filter, test))) items.Add(item);
            }
            if (items.Count == 0) { Block(f.Else, scope, output); return; }
            for (var i = 0; i < items.Count; i++)
            {
                var index = i;
                var loop = new OrderedDictionary<string, object?>
                {
                    ["index"] = (long)i + 1, ["index0"] = (long)i, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                    ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                    ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Value,
                    ["cycle"] = new JinjaFunction("cycle", (a, _) => a.Count == 0 ? Undefined.Value : a[index % a.Count]),
                };
                loopScope.Set("loop", loop);
                Bind(f.Target, items[i], loopScope, f);
                try { Block(f.Body, loopScope, output); }
                catch (ContinueSignal) { }
                catch (BreakSignal) { break; }
            }
        }

        void Bind(Expr target, object? value, JinjaScope scope, Node at)
        {
            if (target is NameExpr n) { scope.Set(n.Name, value); return; }
            if (target is not ListExpr { IsTuple: true } tuple) throw Error(at, "cannot assign to this target");
            if (value is not List<object?> list) throw Error(at, $"cannot unpack {TypeName(value)}");
            if (list.Count != tuple.Items.Count) throw Error(at, $"too {(list.Count < tuple.Items.Count ? "few" : "many")} values to unpack (expected {tuple.Items.Count}, got {list.Count})");
            for (var i = 0; i < list.Count; i++) Bind(tuple.Items[i], list[i], scope, at);
        }

        void Set(SetNode s, JinjaScope scope)
        {
            var value = s.Value is null ? Capture(s.Body, scope) : Eval(s.Value, scope);
            if (s.Target is MemberExpr { Computed: false, Property: LiteralExpr { Value: string attr } } member)
            {
                if (Eval(member.Object, scope) is not JinjaNamespace ns) throw Error(s, "only namespace() objects take attribute assignments");
                ns.Values[attr] = value;
                return;
            }
            Bind(s.Target, value, scope, s);
        }

        JinjaFunction Macro(string name, IReadOnlyList<Parameter> parameters, IReadOnlyList<Node> body, JinjaScope definedIn, object? unused)
        {
            return new JinjaFunction(name, (args, kwargs) =>
            {
                var scope = new JinjaScope(definedIn);
                for (var i = 0; i < parameters.Count; i++)
                {
                    var p = parameters[i];
                    object? value = i < args.Count ? args[i]
                        : kwargs.Remove(p.Name, out var kv) ? kv
                        : p.Default is { } d ? Eval(d, scope) : Undefined.Value;
                    scope.Set(p.Name, value);
                }
                scope.Set("varargs", args.Skip(parameters.Count).ToList());
                if (kwargs.Remove("caller", out var caller)) scope.Set("caller", caller);
                scope.Set("kwargs", new OrderedDictionary<string, object?>(kwargs));
                return Capture(body, scope);
            });
        }

        (List<object?> Args, OrderedDictionary<string, object?> Kwargs) Arguments(IReadOnlyList<Argument> arguments, JinjaScope scope)
        {
            var args = new List<object?>();
            var kwargs = new OrderedDictionary<string, object?>();
            foreach (var a in arguments)
            {
                var value = Eval(a.Value, scope);
                if (a.Spread) args.AddRange(value as List<object?> ?? throw Error(a.Value, $"cannot unpack {TypeName(value)} with *"));
                else if (a.KeywordSpread) foreach (var (k, v) in value as OrderedDictionary<string, object?> ?? throw Error(a.Value, $"** needs a mapping, not {TypeName(value)}")) kwargs[k] = v;
                else if (a.Name is { } name) kwargs[name] = value;
                else args.Add(value);
            }
            return (args, kwargs);
        }

        object? TestByName(string name, object? value, List<object?> args) => JinjaBuiltins.Test(name, value, args);

        object? Invoke(Node at, JinjaFunction f, List<object?> args, OrderedDictionary<string, object?> kwargs)
        {
            try { return f.Call(args, kwargs); }
            catch (RaiseSignal r) { throw new TemplateRaisedException(template.Origin, template.Position(at.Offset), r.Message); }
            catch (InvalidOperationException e) { throw Error(at, e.Message); }
        }

        object? Guard(Node at, Func<object?> body)
        {
            try { return body(); }
            catch (InvalidOperationException e) { throw Error(at, e.Message); }
            catch (InvalidCastException e) { throw Error(at, e.Message); }
        }

        object? Eval(Expr e, JinjaScope scope)
        {
            switch (e)
            {
                case LiteralExpr l: return l.Value;
                case NameExpr n: return scope.Lookup(n.Name);
                case ListExpr l: return l.Items.Select(x => Eval(x, scope)).ToList();
                case DictExpr d:
                {
                    var dict = new OrderedDictionary<string, object?>();
                    foreach (var (k, v) in d.Items)
                        dict[Eval(k, scope) as string ?? throw Error(k, "mapping keys must be strings")] = Eval(v, scope);
                    return dict;
                }
                case MemberExpr m:
                {
                    var obj = Eval(m.Object, scope);
                    if (m.Property is SliceExpr slice) return Guard(m, () => Slice(obj, slice, scope));
                    var key = Eval(m.Property, scope);
                    return JinjaBuiltins.Member(obj, key);
                }
                case CallExpr c:
                {
                    var callee = Eval(c.Callee, scope);
                    var (args, kwargs) = Arguments(c.Arguments, scope);
                    if (callee is not JinjaFunction f)
                        throw Error(c, $"{Describe(c.Callee)} is {(callee is Undefined ? "undefined" : "not callable (" + TypeName(callee) + ")")}");
                    return Invoke(c, f, args, kwargs);
                }
                case FilterExpr f:
                {
                    var operand = Eval(f.Operand, scope);
                    var (args, kwargs) = Arguments(f.Arguments, scope);
                    return Guard(f, () => JinjaBuiltins.Filter(f.Name, operand, args, kwargs, TestByName));
                }
                case TestExpr t:
                {
                    var operand = Eval(t.Operand, scope);
                    var (args, _) = Arguments(t.Arguments, scope);
                    var result = IsTrue(Guard(t, () => JinjaBuiltins.Test(t.Name, operand, args)));
                    return t.Negate ? !result : result;
                }
                case UnaryExpr u:
                {
                    var v = Eval(u.Operand, scope);
                    return u.Operator switch
                    {
                        "not" => !IsTrue(v),
                        "-" => v switch { long i => -i, double d => -d, bool b => b ? -1L : 0L, _ => throw Error(u, $"cannot negate {TypeName(v)}") },
                        _ => v switch { long or double => v, bool b => b ? 1L : 0L, _ => throw Error(u, $"unary + needs a number, not {TypeName(v)}") },
                    };
                }
                case BinaryExpr b: return Binary(b, scope);
                case TernaryExpr t: return IsTrue(Eval(t.Test, scope)) ? Eval(t.IfTrue, scope) : Eval(t.IfFalse, scope);
                case SelectExpr s: return IsTrue(Eval(s.Test, scope)) ? Eval(s.Value, scope) : Undefined.Value;
                default: throw Error(e, $"cannot evaluate {e.GetType().Name}");
            }
        }

        static string Describe(Expr e) => e switch
        {
            NameExpr n => $"'{n.Name}'",
            MemberExpr { Property: LiteralExpr { Value: string s } } => $"'.{s}'",
            _ => "the called value",
        };

        object? Slice(object? obj, SliceExpr s, JinjaScope scope)
        {
            long? Part(Expr? x) => x is null ? null : Eval(x, scope) switch { long l => l, null or Undefined => null, var o => throw new InvalidOperationException($"slice indices must be integers, not {TypeName(o)}") };
            var (start, stop, step) = (Part(s.Start), Part(s.Stop), Part(s.Step) ?? 1);
            if (step == 0) throw new InvalidOperationException("slice step cannot be zero");
            IEnumerable<int> Indices(int length)
            {
                long Clamp(long? v, long fallback, long low, long high) => v is null ? fallback : Math.Clamp(v.Value < 0 ? v.Value + length : v.Value, low, high);
                if (step > 0) { for (var i = Clamp(start, 0, 0, length); i < Clamp(stop, length, 0, length); i += step) yield return (int)i; }
                else { for (var i = Clamp(start, length - 1, -1, length - 1); i > Clamp(stop, -1, -1, length - 1); i += step) yield return (int)i; }
            }
            return obj switch
            {
                List<object?> l => Indices(l.Count).Select(i => l[i]).ToList(),
                string str => string.Concat(Indices(str.Length).Select(i => str[i])),
                _ => throw new InvalidOperationException($"cannot slice {TypeName(obj)}"),
            };
        }

        object? Binary(BinaryExpr b, JinjaScope scope)
        {
            var left = Eval(b.Left, scope);
            if (b.Operator == "and") return IsTrue(left) ? Eval(b.Right, scope) : left;
            if (b.Operator == "or") return IsTrue(left) ? left : Eval(b.Right, scope);
            var right = Eval(b.Right, scope);
            return Guard(b, () => Operate(b.Operator, left, right));
        }

        /// <summary>
        /// A value joined to a string with + or ~, as the hub Jinja does it (JavaScript's toString of the raw value):
        /// a list becomes its items' text joined by ",", a mapping "[object Map]". Templates meant for string contents
        /// given content parts print them this way in the hub's rendering, so they must here too.
        /// </summary>
        static string ConcatText(object? v) => v switch
        {
            List<object?> l => string.Join(",", l.Select(ToText)), // each item's own toString: JSON for lists and mappings
            OrderedDictionary<string, object?> or JinjaNamespace => "[object Map]",
            _ => ToText(v),
        };

        static object? Operate(string op, object? left, object? right)
        {
            switch (op)
            {
                case "==": return ValueEquals(left, right);
                case "!=": return !ValueEquals(left, right);
                case "in": return JinjaBuiltins.Contains(right, left);
                case "not in": return !JinjaBuiltins.Contains(right, left);
            }
            if (left is Undefined || right is Undefined) throw new InvalidOperationException($"cannot apply '{op}' to an undefined value");
            if (left is null || right is null) throw new InvalidOperationException($"cannot apply '{op}' to none");
            if (op == "~") return ConcatText(left) + ConcatText(right);
            if ((left is long or double or bool) && (right is long or double or bool) && !(left is bool && right is bool && op is not ("**" or "+" or "-" or "*")))
            {
                var floating = left is double || right is double;
                double a = AsDouble(left), c = AsDouble(right);
                long Int(object? v) => v is long l ? l : v is bool t ? (t ? 1 : 0) : 0;
                return op switch
                {
                    "+" => floating ? a + c : (object)(Int(left) + Int(right)),
                    "-" => floating ? a - c : (object)(Int(left) - Int(right)),
                    "*" => floating ? a * c : (object)(Int(left) * Int(right)),
                    "/" => a / c,
                    "//" => floating ? Math.Floor(a / c) : c == 0 ? throw new InvalidOperationException("integer division by zero") : (object)(long)Math.Floor(a / c),
                    "%" => floating ? a % c : c == 0 ? throw new InvalidOperationException("integer modulo by zero") : (object)(Int(left) % Int(right)),
                    "**" => floating || c < 0 ? Math.Pow(a, c) : (object)(long)Math.Pow(a, c),
                    "<" => a < c,
                    ">" => a > c,
                    "<=" => a <= c,
                    ">=" => a >= c,
                    _ => throw new InvalidOperationException($"unknown operator '{op}'"),
                };
            }
            if (op == "+" && left is List<object?> l1 && right is List<object?> l2) return l1.Concat(l2).ToList();
            if (op == "+" && (left is string || right is string)) return ConcatText(left) + ConcatText(right);
            if (op == "*" && left is string s && right is long n) return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n)));
            if (op == "*" && left is List<object?> list && right is long times) return Enumerable.Repeat(list, (int)Math.Max(0, times)).SelectMany(x => x).ToList();
            if (left is string x && right is string y && op is "<" or ">" or "<=" or ">=")
            {
                var cmp = string.CompareOrdinal(x, y);
                return op switch { "<" => cmp < 0, ">" => cmp > 0, "<=" => cmp <= 0, _ => cmp >= 0 };
            }
            throw new InvalidOperationException($"cannot apply '{op}' to {TypeName(left)} and {TypeName(right)}");
        }
    }
}
