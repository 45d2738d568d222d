namespace HyperDex.Runtime.Templating;

/// <summary>The syntax tree of a template: statements (<see cref="Node"/>) and expressions (<see cref="Expr"/>).</summary>
internal abstract record Node(int Line);

internal abstract record Expr(int Line) : Node(Line);

internal sealed record ConstExpr(object? Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

internal sealed record TupleExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Pairs, int Line) : Expr(Line);

internal sealed record GetAttrExpr(Expr Target, string Attribute, int Line) : Expr(Line);

internal sealed record GetItemExpr(Expr Target, Expr Key, int Line) : Expr(Line);

/// <summary>A slice inside [] (a:b:c); only valid as the key of a <see cref="GetItemExpr"/>.</summary>
internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

/// <summary>Call arguments: positional, keyword, and *args / **kwargs.</summary>
internal sealed record CallArgs(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Keywords, Expr? Star, Expr? DoubleStar)
{
    public static readonly CallArgs None = new([], [], null, null);
}

internal sealed record CallExpr(Expr Target, CallArgs Args, int Line) : Expr(Line);

/// <summary>value|name(args); <see cref="Input"/> is null in a filter block or a set block's filter.</summary>
internal sealed record FilterExpr(Expr? Input, string Name, CallArgs Args, int Line) : Expr(Line);

internal sealed record TestExpr(Expr Input, string Name, CallArgs Args, int Line) : Expr(Line);

/// <summary>+ - * / // % ** between two operands.</summary>
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary>The ~ operator chain: every operand converted with str() and joined.</summary>
internal sealed record ConcatExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

/// <summary>A comparison chain a &lt; b == c (eq, ne, lt, lteq, gt, gteq, in, notin).</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Operator, Expr Operand)> Rest, int Line) : Expr(Line);

internal sealed record AndExpr(Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record OrExpr(Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record NotExpr(Expr Operand, int Line) : Expr(Line);

internal sealed record NegExpr(Expr Operand, int Line) : Expr(Line);

internal sealed record PosExpr(Expr Operand, int Line) : Expr(Line);

internal sealed record CondExpr(Expr Test, Expr Then, Expr? Else, int Line) : Expr(Line);

/// <summary>Template text, or the expressions of a {{ }}.</summary>
internal sealed record OutputNode(IReadOnlyList<Node> Items, int Line) : Node(Line);

internal sealed record DataNode(string Text, int Line) : Node(Line);

internal sealed record IfNode(Expr Test, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Line) : Node(Line);

internal sealed record ForNode(Expr Target, Expr Iterable, Expr? Filter, bool Recursive, IReadOnlyList<Node> Body,
    IReadOnlyList<Node> Else, int Line) : Node(Line);

/// <summary>{% set target = value %}; the target is a name, a tuple of names, or namespace.attribute.</summary>
internal sealed record SetNode(Expr Target, Expr Value, int Line) : Node(Line);

/// <summary>{% set name | filters %}body{% endset %}.</summary>
internal sealed record SetBlockNode(Expr Target, FilterExpr? Filter, IReadOnlyList<Node> Body, int Line) : Node(Line);

internal sealed record MacroNode(string Name, IReadOnlyList<string> Parameters, IReadOnlyList<Expr?> Defaults,
    IReadOnlyList<Node> Body, MacroCatches Catches, int Line) : Node(Line);

/// <summary>Which of varargs, kwargs and caller a macro body reads: only then does it accept extra arguments.</summary>
internal sealed class MacroCatches
{
    public bool Varargs { get; set; }

    public bool Kwargs { get; set; }

    public bool Caller { get; set; }
}

/// <summary>{% call(params) macro(args) %}body{% endcall %}: the body becomes the macro's caller().</summary>
internal sealed record CallBlockNode(CallExpr Call, IReadOnlyList<string> Parameters, IReadOnlyList<Expr?> Defaults,
    IReadOnlyList<Node> Body, MacroCatches Catches, int Line) : Node(Line);

internal sealed record FilterBlockNode(FilterExpr Filter, IReadOnlyList<Node> Body, int Line) : Node(Line);

internal sealed record WithNode(IReadOnlyList<(Expr Target, Expr Value)> Assignments, IReadOnlyList<Node> Body, int Line) : Node(Line);

/// <summary>A body rendered in place: {% generation %} (transformers' pass-through) and {% block %}.</summary>
internal sealed record ScopeNode(IReadOnlyList<Node> Body, bool NewScope, int Line) : Node(Line);

internal sealed record BreakNode(int Line) : Node(Line);

internal sealed record ContinueNode(int Line) : Node(Line);
