namespace MultiLora.Data.Templates.Jinja;

/// <summary>Template syntax tree. Every node keeps the source offset it starts at, for error positions.</summary>
public abstract record Node(int Offset);

// Statements
public sealed record TextNode(string Text, int Offset) : Node(Offset);
public sealed record OutputNode(Expr Value, int Offset) : Node(Offset);
public sealed record IfNode(Expr Test, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Offset) : Node(Offset);
public sealed record ForNode(Expr Target, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Offset) : Node(Offset);
public sealed record SetNode(Expr Target, Expr? Value, IReadOnlyList<Node> Body, int Offset) : Node(Offset);
public sealed record MacroNode(string Name, IReadOnlyList<Parameter> Parameters, IReadOnlyList<Node> Body, int Offset) : Node(Offset);
public sealed record CallBlockNode(CallExpr Call, IReadOnlyList<Parameter> CallerParameters, IReadOnlyList<Node> Body, int Offset) : Node(Offset);
public sealed record FilterBlockNode(Expr Filter, IReadOnlyList<Node> Body, int Offset) : Node(Offset);
public sealed record BreakNode(int Offset) : Node(Offset);
public sealed record ContinueNode(int Offset) : Node(Offset);

public sealed record Parameter(string Name, Expr? Default);

// Expressions
public abstract record Expr(int Offset) : Node(Offset);
public sealed record LiteralExpr(object? Value, int Offset) : Expr(Offset);
public sealed record NameExpr(string Name, int Offset) : Expr(Offset);
public sealed record ListExpr(IReadOnlyList<Expr> Items, bool IsTuple, int Offset) : Expr(Offset);
public sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Offset) : Expr(Offset);
/// <summary>object.name (Computed false) or object[key] (Computed true).</summary>
public sealed record MemberExpr(Expr Object, Expr Property, bool Computed, int Offset) : Expr(Offset);
public sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Offset) : Expr(Offset);
public sealed record CallExpr(Expr Callee, IReadOnlyList<Argument> Arguments, int Offset) : Expr(Offset);
/// <summary>A call argument: positional (Name null), keyword, or *spread / **spread.</summary>
public sealed record Argument(string? Name, Expr Value, bool Spread = false, bool KeywordSpread = false);
public sealed record FilterExpr(Expr Operand, string Name, IReadOnlyList<Argument> Arguments, int Offset) : Expr(Offset);
public sealed record TestExpr(Expr Operand, string Name, bool Negate, IReadOnlyList<Argument> Arguments, int Offset) : Expr(Offset);
public sealed record UnaryExpr(string Operator, Expr Operand, int Offset) : Expr(Offset);
public sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Offset) : Expr(Offset);
public sealed record TernaryExpr(Expr Test, Expr IfTrue, Expr IfFalse, int Offset) : Expr(Offset);
/// <summary>"a if cond" without else: a when cond holds, else undefined (and a for-loop filter).</summary>
public sealed record SelectExpr(Expr Value, Expr Test, int Offset) : Expr(Offset);
