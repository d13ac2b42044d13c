namespace MultiLora.Data.Templates.Jinja;

/// <summary>
/// Parses tokens into a tree with the hub Jinja's grammar and precedence (loosest first): ternary, or, and,
/// not, comparisons and (not) in, + - ~, * / // %, **, is-tests, |filters, unary signs, calls/members, primaries.
/// </summary>
public sealed class JinjaParser
{
    readonly List<JinjaToken> _tokens;
    readonly string _source;
    readonly string _origin;
    int _at;

    JinjaParser(List<JinjaToken> tokens, string source, string origin) { _tokens = tokens; _source = source; _origin = origin; }

    public static IReadOnlyList<Node> Parse(string source, string origin)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(source, origin), source, origin);
        var body = new List<Node>();
        while (parser.Peek.Kind != TokenKind.Eof) body.Add(parser.ParseAny());
        return body;
    }

    JinjaToken Peek => _tokens[_at];
    JinjaToken PeekAt(int k) => _tokens[Math.Min(_at + k, _tokens.Count - 1)];
    JinjaToken Next() => _tokens[_at++];

    TemplateException Error(string message, JinjaToken? at = null) =>
        new(_origin, SourcePosition.Of(_source, (at ?? Peek).Offset), message);

    static string Describe(JinjaToken t) => t.Kind switch
    {
        TokenKind.Eof => "the end of the template",
        TokenKind.Text => "text",
        TokenKind.String => $"string '{t.Value}'",
        _ => $"'{t.Value}'",
    };

    JinjaToken Expect(TokenKind kind, string what)
    {
        if (Peek.Kind != kind) throw Error($"expected {what}, found {Describe(Peek)}");
        return Next();
    }

    bool IsOp(string op) => Peek.Kind == TokenKind.Operator && Peek.Value == op;
    bool IsName(string name) => Peek.Kind == TokenKind.Identifier && Peek.Value == name;

    void ExpectOp(string op)
    {
        if (!IsOp(op)) throw Error($"expected '{op}', found {Describe(Peek)}");
        _at++;
    }

    void ExpectName(string name)
    {
        if (!IsName(name)) throw Error($"expected '{name}', found {Describe(Peek)}");
        _at++;
    }

    /// <summary>At "{% name" for one of the names.</summary>
    bool AtStatement(params string[] names) =>
        Peek.Kind == TokenKind.OpenStatement && PeekAt(1).Kind == TokenKind.Identifier && names.Contains(PeekAt(1).Value);

    Node ParseAny()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Comment: _at++; return new TextNode("", t.Offset);
            case TokenKind.Text: _at++; return new TextNode(t.Value, t.Offset);
            case TokenKind.OpenStatement: return ParseStatement();
            case TokenKind.OpenExpression:
                _at++;
                var value = ParseExpression();
                Expect(TokenKind.CloseExpression, "'}}'");
                return new OutputNode(value, t.Offset);
            default: throw Error($"unexpected {Describe(t)}");
        }
    }

    List<Node> ParseUntil(params string[] names)
    {
        var body = new List<Node>();
        while (!AtStatement(names))
        {
            if (Peek.Kind == TokenKind.Eof) throw Error($"unexpected end of template: expected {{% {string.Join(" %} or {% ", names)} %}}");
            body.Add(ParseAny());
        }
        return body;
    }

    void ExpectEnd(string name)
    {
        Expect(TokenKind.OpenStatement, "'{%'");
        ExpectName(name);
        Expect(TokenKind.CloseStatement, "'%}'");
    }

    Node ParseStatement()
    {
        var open = Expect(TokenKind.OpenStatement, "'{%'");
        var keyword = Expect(TokenKind.Identifier, "a statement name");
        switch (keyword.Value)
        {
            case "set": return ParseSet(open);
            case "if": return ParseIf(open);
            case "for": return ParseFor(open);
            case "macro": return ParseMacro(open);
            case "call": return ParseCallBlock(open);
            case "filter":
            {
                var filter = ParseFilterTail(new NameExpr("", keyword.Offset));
                Expect(TokenKind.CloseStatement, "'%}'");
                var body = ParseUntil("endfilter");
                ExpectEnd("endfilter");
                return new FilterBlockNode(filter, body, open.Offset);
            }
            case "break": Expect(TokenKind.CloseStatement, "'%}'"); return new BreakNode(open.Offset);
            case "continue": Expect(TokenKind.CloseStatement, "'%}'"); return new ContinueNode(open.Offset);
            default: throw Error($"unknown statement '{keyword.Value}'", keyword);
        }
    }

    Node ParseSet(JinjaToken open)
    {
        var target = ParseExpressionSequence();
        if (IsOp("="))
        {
            _at++;
            var value = ParseExpressionSequence();
            Expect(TokenKind.CloseStatement, "'%}'");
            return new SetNode(target, value, [], open.Offset);
        }
        Expect(TokenKind.CloseStatement, "'=' or '%}'");
        var body = ParseUntil("endset");
        ExpectEnd("endset");
        return new SetNode(target, null, body, open.Offset);
    }

    IfNode ParseIf(JinjaToken open)
    {
        var test = ParseExpression();
        Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseUntil("elif", "else", "endif");
        var elseBody = new List<Node>();
        if (AtStatement("elif"))
        {
            var elif = Next();
            _at++;
            elseBody.Add(ParseIf(elif)); // the nested if consumes the shared endif
            return new IfNode(test, body, elseBody, open.Offset);
        }
        if (AtStatement("else"))
        {
            _at += 2;
            Expect(TokenKind.CloseStatement, "'%}'");
            elseBody = ParseUntil("endif");
        }
        ExpectEnd("endif");
        return new IfNode(test, body, elseBody, open.Offset);
    }

    ForNode ParseFor(JinjaToken open)
    {
        var target = ParseTargetSequence();
        ExpectName("in");
        var iterable = ParseExpression();
        Expr? filter = null;
        if (iterable is SelectExpr select) (iterable, filter) = (select.Value, select.Test); // {% for x in xs if cond %}
        Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseUntil("endfor", "else");
        var elseBody = new List<Node>();
        if (AtStatement("else"))
        {
            _at += 2;
            Expect(TokenKind.CloseStatement, "'%}'");
            elseBody = ParseUntil("endfor");
        }
        ExpectEnd("endfor");
        return new ForNode(target, iterable, filter, body, elseBody, open.Offset);
    }

    Expr ParseTargetSequence()
    {
        var first = Peek;
        var names = new List<Expr> { new NameExpr(Expect(TokenKind.Identifier, "a loop variable").Value, first.Offset) };
        var tuple = false;
        while (IsOp(","))
        {
            _at++;
            tuple = true;
            var t = Expect(TokenKind.Identifier, "a loop variable");
            names.Add(new NameExpr(t.Value, t.Offset));
        }
        return tuple ? new ListExpr(names, true, first.Offset) : names[0];
    }

    MacroNode ParseMacro(JinjaToken open)
    {
        var name = Expect(TokenKind.Identifier, "a macro name");
        var parameters = ParseParameters();
        Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseUntil("endmacro");
        ExpectEnd("endmacro");
        return new MacroNode(name.Value, parameters, body, open.Offset);
    }

    List<Parameter> ParseParameters()
    {
        var parameters = new List<Parameter>();
        if (!IsOp("(")) return parameters;
        ExpectOp("(");
        while (!IsOp(")"))
        {
            var name = Expect(TokenKind.Identifier, "a parameter name").Value;
            Expr? fallback = null;
            if (IsOp("=")) { _at++; fallback = ParseExpression(); }
            parameters.Add(new Parameter(name, fallback));
            if (IsOp(",")) _at++;
            else if (!IsOp(")")) throw Error($"expected ',' or ')' in the parameter list, found {Describe(Peek)}");
        }
        _at++;
        return parameters;
    }

    CallBlockNode ParseCallBlock(JinjaToken open)
    {
        var callerParameters = IsOp("(") ? ParseParameters() : [];
        var call = ParseCallMember() as CallExpr ?? throw Error("expected a macro call after {% call %}", open);
        Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseUntil("endcall");
        ExpectEnd("endcall");
        return new CallBlockNode(call, callerParameters, body, open.Offset);
    }

    Expr ParseExpressionSequence()
    {
        var first = ParseExpression();
        if (!IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (IsOp(","))
        {
            _at++;
            items.Add(ParseExpression());
        }
        return new ListExpr(items, true, first.Offset);
    }

    public Expr ParseExpression()
    {
        var value = ParseLogicalOr();
        if (!IsName("if")) return value;
        _at++;
        var test = ParseLogicalOr();
        if (!IsName("else")) return new SelectExpr(value, test, value.Offset);
        _at++;
        return new TernaryExpr(test, value, ParseExpression(), value.Offset);
    }

    Expr ParseLogicalOr()
    {
        var left = ParseLogicalAnd();
        while (IsName("or")) { _at++; left = new BinaryExpr("or", left, ParseLogicalAnd(), left.Offset); }
        return left;
    }

    Expr ParseLogicalAnd()
    {
        var left = ParseNot();
        while (IsName("and")) { _at++; left = new BinaryExpr("and", left, ParseNot(), left.Offset); }
        return left;
    }

    Expr ParseNot()
    {
        if (!IsName("not")) return ParseComparison();
        var t = Next();
        return new UnaryExpr("not", ParseNot(), t.Offset);
    }

    static readonly HashSet<string> Comparisons = ["==", "!=", "<", ">", "<=", ">="];

    Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            string op;
            if (IsName("not") && PeekAt(1) is { Kind: TokenKind.Identifier, Value: "in" }) { _at += 2; op = "not in"; }
            else if (IsName("in")) { _at++; op = "in"; }
            else if (Peek.Kind == TokenKind.Operator && Comparisons.Contains(Peek.Value)) op = Next().Value;
            else return left;
            left = new BinaryExpr(op, left, ParseAdditive(), left.Offset);
        }
    }

    Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "+" or "-" or "~")
            left = new BinaryExpr(Next().Value, left, ParseMultiplicative(), left.Offset);
        return left;
    }

    Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "*" or "/" or "//" or "%")
            left = new BinaryExpr(Next().Value, left, ParsePower(), left.Offset);
        return left;
    }

    Expr ParsePower()
    {
        var left = ParseTest();
        while (IsOp("**")) { _at++; left = new BinaryExpr("**", left, ParseTest(), left.Offset); }
        return left;
    }

    Expr ParseTest()
    {
        var operand = ParseFilter();
        while (IsName("is"))
        {
            _at++;
            var negate = IsName("not");
            if (negate) _at++;
            var name = Peek.Kind switch
            {
                TokenKind.Identifier => Next().Value,
                // "is none", "is true": lexed as identifiers anyway; == and friends as operators
                TokenKind.Operator when Peek.Value is "==" or "!=" or "<" or ">" or "<=" or ">=" => Next().Value,
                _ => throw Error($"expected a test name after 'is', found {Describe(Peek)}"),
            };
            var args = new List<Argument>();
            if (IsOp("(")) args = ParseArguments();
            else if (Peek.Kind is TokenKind.Integer or TokenKind.Float or TokenKind.String || Peek.Kind == TokenKind.Identifier && !IsKeyword(Peek.Value))
                args.Add(new Argument(null, ParsePrimary()));
            operand = new TestExpr(operand, name, negate, args, operand.Offset);
        }
        return operand;
    }

    static bool IsKeyword(string name) => name is "and" or "or" or "not" or "in" or "is" or "if" or "else";

    Expr ParseFilter()
    {
        var operand = ParseUnary();
        while (IsOp("|")) operand = ParseFilterTail(operand);
        return operand;
    }

    FilterExpr ParseFilterTail(Expr operand)
    {
        if (IsOp("|")) _at++;
        var name = Expect(TokenKind.Identifier, "a filter name");
        var args = IsOp("(") ? ParseArguments() : [];
        return new FilterExpr(operand, name.Value, args, name.Offset);
    }

    Expr ParseUnary()
    {
        if (Peek.Kind == TokenKind.Operator && Peek.Value is "neg" or "pos" or "-" or "+")
        {
            var t = Next();
            return new UnaryExpr(t.Value is "neg" or "-" ? "-" : "+", ParseUnary(), t.Offset);
        }
        return ParseCallMember();
    }

    Expr ParseCallMember()
    {
        var expr = ParsePrimary();
        while (true)
        {
            if (IsOp(".")) { _at++; var t = Next(); expr = new MemberExpr(expr, t.Kind == TokenKind.Integer ? new LiteralExpr(long.Parse(t.Value, System.Globalization.CultureInfo.InvariantCulture), t.Offset) : t.Kind == TokenKind.Identifier ? new LiteralExpr(t.Value, t.Offset) : throw Error("expected a name after '.'", t), false, expr.Offset); }
            else if (IsOp("[")) { _at++; var key = ParseSubscript(); ExpectOp("]"); expr = new MemberExpr(expr, key, true, expr.Offset); }
            else if (IsOp("(")) expr = new CallExpr(expr, ParseArguments(), expr.Offset);
            else return expr;
        }
    }

    Expr ParseSubscript()
    {
        var offset = Peek.Offset;
        Expr? Part() => IsOp(":") || IsOp("]") ? null : ParseExpression();
        var start = Part();
        if (!IsOp(":")) return start ?? throw Error("expected an index");
        _at++;
        var stop = Part();
        Expr? step = null;
        if (IsOp(":")) { _at++; step = Part(); }
        return new SliceExpr(start, stop, step, offset);
    }

    List<Argument> ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Argument>();
        while (!IsOp(")"))
        {
            if (IsOp("**")) { _at++; args.Add(new Argument(null, ParseExpression(), KeywordSpread: true)); }
            else if (IsOp("*")) { _at++; args.Add(new Argument(null, ParseExpression(), Spread: true)); }
            else if (Peek.Kind == TokenKind.Identifier && PeekAt(1) is { Kind: TokenKind.Operator, Value: "=" })
            {
                var name = Next().Value;
                _at++;
                args.Add(new Argument(name, ParseExpression()));
            }
            else args.Add(new Argument(null, ParseExpression()));
            if (IsOp(",")) _at++;
            else if (!IsOp(")")) throw Error($"expected ',' or ')' in the argument list, found {Describe(Peek)}");
        }
        _at++;
        return args;
    }

    Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Integer: return new LiteralExpr(long.Parse(t.Value, System.Globalization.CultureInfo.InvariantCulture), t.Offset);
            case TokenKind.Float: return new LiteralExpr(double.Parse(t.Value, System.Globalization.CultureInfo.InvariantCulture), t.Offset);
            case TokenKind.String:
            {
                var value = t.Value;
                while (Peek.Kind == TokenKind.String) value += Next().Value; // adjacent literals concatenate
                return new LiteralExpr(value, t.Offset);
            }
            case TokenKind.Identifier:
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, t.Offset),
                    "false" or "False" => new LiteralExpr(false, t.Offset),
                    "none" or "None" => new LiteralExpr(null, t.Offset),
                    _ => new NameExpr(t.Value, t.Offset),
                };
            case TokenKind.Operator when t.Value == "(":
            {
                if (IsOp(")")) { _at++; return new ListExpr([], true, t.Offset); }
                var inner = ParseExpressionSequence();
                ExpectOp(")");
                return inner;
            }
            case TokenKind.Operator when t.Value == "[":
            {
                var items = new List<Expr>();
                while (!IsOp("]"))
                {
                    items.Add(ParseExpression());
                    if (IsOp(",")) _at++;
                    else if (!IsOp("]")) throw Error($"expected ',' or ']' in a list, found {Describe(Peek)}");
                }
                _at++;
                return new ListExpr(items, false, t.Offset);
            }
            case TokenKind.Operator when t.Value == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var key = ParseExpression();
                    ExpectOp(":");
                    items.Add((key, ParseExpression()));
                    if (IsOp(",")) _at++;
                    else if (!IsOp("}")) throw Error($"expected ',' or '}}' in a dict, found {Describe(Peek)}");
                }
                _at++;
                return new DictExpr(items, t.Offset);
            }
            default: throw Error($"unexpected {Describe(t)}", t);
        }
    }
}
