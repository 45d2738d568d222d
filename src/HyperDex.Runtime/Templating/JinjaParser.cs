namespace HyperDex.Runtime.Templating;

/// <summary>
/// Jinja2's parser (statements and the expression grammar with its precedence: conditional, or, and, not,
/// comparisons, + -, ~, * / // %, **, unary, then postfix, filters and tests), over the tokens of <see cref="JinjaLexer"/>.
/// Extensions as transformers loads them: loop controls and the {% generation %} block.
/// </summary>
internal sealed class JinjaParser
{
    private static readonly HashSet<string> CompareOperators = new(StringComparer.Ordinal) { "==", "!=", "<", "<=", ">", ">=" };

    private readonly List<JinjaToken> tokens;
    private int position;
    private int depth;
    private int loopDepth;
    private readonly Stack<MacroCatches> macroBodies = new();

    private JinjaParser(List<JinjaToken> tokens) => this.tokens = tokens;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(source));
        var body = parser.Subparse();
        if (parser.Current.Kind != TokenKind.End)
        {
            throw parser.Fail($"Encountered unknown tag '{parser.Current.Value}'.");
        }

        return body;
    }

    private JinjaToken Current => tokens[position];

    private JinjaToken Peek => tokens[Math.Min(position + 1, tokens.Count - 1)];

    private JinjaToken Next() => tokens[position++];

    private JinjaError Fail(string message, JinjaToken? at = null) => JinjaError.Syntax(message, (at ?? Current).Line);

    private JinjaToken Expect(TokenKind kind, string? value = null)
    {
        var token = Current;
        if (token.Kind != kind || (value is not null && token.Value != value))
        {
            string wanted = value ?? kind switch
            {
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                TokenKind.Name => "name",
                _ => kind.ToString(),
            };
            throw Fail(token.Kind == TokenKind.End
                ? $"Unexpected end of template. Jinja was looking for the following tags: '{wanted}'."
                : $"expected token '{wanted}', got '{token.Describe()}'");
        }

        return Next();
    }

    private bool SkipOperator(string op)
    {
        if (Current.IsOperator(op))
        {
            position++;
            return true;
        }

        return false;
    }

    private bool SkipName(string name)
    {
        if (Current.IsName(name))
        {
            position++;
            return true;
        }

        return false;
    }

    /// <summary>Template content until a {% tag %} named in <paramref name="endNames"/> (left as the current token).</summary>
    private List<Node> Subparse(params string[] endNames)
    {
        var body = new List<Node>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Data:
                    body.Add(new DataNode(token.Value, token.Line));
                    position++;
                    break;
                case TokenKind.VariableBegin:
                    position++;
                    body.Add(ParseTuple());
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    position++;
                    if (Current.Kind == TokenKind.Name && endNames.Contains(Current.Value))
                    {
                        return body;
                    }

                    body.AddRange(ParseStatement());
                    Expect(TokenKind.BlockEnd);
                    break;
                case TokenKind.End:
                    if (endNames.Length > 0)
                    {
                        throw Fail($"Unexpected end of template. Jinja was looking for the following tags: {string.Join(" or ", endNames.Select(n => $"'{n}'"))}.");
                    }

                    return body;
                default:
                    throw Fail($"unexpected '{token.Describe()}'");
            }
        }
    }

    /// <summary>The header's end, then the body up to one of <paramref name="endNames"/>.</summary>
    private List<Node> ParseBody(bool dropNeedle, params string[] endNames)
    {
        SkipOperator(":");
        Expect(TokenKind.BlockEnd);
        var body = Subparse(endNames);
        if (dropNeedle)
        {
            position++;
        }

        return body;
    }

    private List<Node> ParseStatement()
    {
        var token = Current;
        if (token.Kind != TokenKind.Name)
        {
            throw Fail("tag name expected");
        }

        if (++depth > JinjaLimits.MaxParseDepth)
        {
            throw Fail("the template nests blocks too deeply");
        }

        try
        {
            switch (token.Value)
            {
                case "if": return [ParseIf()];
                case "for": return [ParseFor()];
                case "set": return [ParseSet()];
                case "macro": return [ParseMacro()];
                case "call": return [ParseCallBlock()];
                case "filter": return [ParseFilterBlock()];
                case "with": return [ParseWith()];
                case "print":
                    position++;
                    var printed = new List<Node>();
                    do
                    {
                        printed.Add(ParseExpression());
                    }
                    while (SkipOperator(","));

                    return printed;
                case "generation":
                    position++;
                    return [new ScopeNode(ParseBody(true, "endgeneration"), true, token.Line)];
                case "block":
                    position++;
                    Expect(TokenKind.Name);
                    SkipName("scoped");
                    SkipName("required");
                    var blockBody = ParseBody(true, "endblock");
                    if (Current.Kind == TokenKind.Name)
                    {
                        position++;
                    }

                    return [new ScopeNode(blockBody, true, token.Line)];
                case "break" or "continue":
                    if (loopDepth == 0)
                    {
                        throw Fail($"Encountered unknown tag '{token.Value}'.");
                    }

                    position++;
                    return [token.Value == "break" ? new BreakNode(token.Line) : new ContinueNode(token.Line)];
                case "extends" or "include" or "import" or "from":
                    throw Fail($"'{token.Value}' needs a template loader, and chat templates have none");
                default:
                    throw Fail($"Encountered unknown tag '{token.Value}'.");
            }
        }
        finally
        {
            depth--;
        }
    }

    private IfNode ParseIf() => ParseIfContinuation(Next().Line);

    /// <summary>An elif clause: the rest of the chain as a nested if.</summary>
    private IfNode ParseIfContinuation(int line)
    {
        var test = ParseTuple(false);
        var body = ParseBody(false, "elif", "else", "endif");
        var keyword = Next();
        IReadOnlyList<Node> elseBody = keyword.Value switch
        {
            "elif" => [ParseIfContinuation(keyword.Line)],
            "else" => ParseBody(true, "endif"),
            _ => [],
        };
        return new IfNode(test, body, elseBody, line);
    }

    private ForNode ParseFor()
    {
        int line = Next().Line;
        var target = ParseAssignTarget(allowNamespace: false, "in");
        Expect(TokenKind.Name, "in");
        var iterable = ParseTuple(false, "recursive");
        Expr? filter = SkipName("if") ? ParseExpression() : null;
        bool recursive = SkipName("recursive");
        loopDepth++;
        var body = ParseBody(false, "endfor", "else");
        loopDepth--;
        IReadOnlyList<Node> elseBody = Next().Value == "else" ? ParseBody(true, "endfor") : [];
        return new ForNode(target, iterable, filter, recursive, body, elseBody, line);
    }

    private Node ParseSet()
    {
        int line = Next().Line;
        var target = ParseAssignTarget(allowNamespace: true);
        if (SkipOperator("="))
        {
            return new SetNode(target, ParseTuple(), line);
        }

        var filter = Current.IsOperator("|") ? ParseFilterChain(null) : null;
        return new SetBlockNode(target, filter, ParseBody(true, "endset"), line);
    }

    private MacroNode ParseMacro()
    {
        int line = Next().Line;
        string name = Expect(TokenKind.Name).Value;
        var (parameters, defaults) = ParseSignature();
        int savedLoops = loopDepth;
        loopDepth = 0;
        var catches = new MacroCatches();
        macroBodies.Push(catches);
        var body = ParseBody(true, "endmacro");
        macroBodies.Pop();
        loopDepth = savedLoops;
        if (Current.Kind == TokenKind.Name)
        {
            position++;
        }

        return new MacroNode(name, parameters, defaults, body, catches, line);
    }

    private CallBlockNode ParseCallBlock()
    {
        int line = Next().Line;
        var (parameters, defaults) = Current.IsOperator("(") ? ParseSignature() : ([], []);
        var call = ParseExpression() as CallExpr ?? throw Fail("expected call", tokens[position - 1]);
        var catches = new MacroCatches();
        macroBodies.Push(catches);
        var body = ParseBody(true, "endcall");
        macroBodies.Pop();
        return new CallBlockNode(call, parameters, defaults, body, catches, line);
    }

    private (List<string> Parameters, List<Expr?> Defaults) ParseSignature()
    {
        var parameters = new List<string>();
        var defaults = new List<Expr?>();
        Expect(TokenKind.Operator, "(");
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOperator(")"))
                {
                    break;
                }
            }

            parameters.Add(Expect(TokenKind.Name).Value);
            if (SkipOperator("="))
            {
                defaults.Add(ParseExpression());
            }
            else if (defaults.Any(d => d is not null))
            {
                throw Fail("non-default argument follows default argument");
            }
            else
            {
                defaults.Add(null);
            }
        }

        Expect(TokenKind.Operator, ")");
        return (parameters, defaults);
    }

    private FilterBlockNode ParseFilterBlock()
    {
        int line = Next().Line;
        var filter = ParseFilterChain(null, startInline: true);
        return new FilterBlockNode(filter, ParseBody(true, "endfilter"), line);
    }

    private WithNode ParseWith()
    {
        int line = Next().Line;
        var assignments = new List<(Expr, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
            }

            var target = ParseAssignTarget(allowNamespace: false);
            Expect(TokenKind.Operator, "=");
            assignments.Add((target, ParseExpression()));
        }

        return new WithNode(assignments, ParseBody(true, "endwith"), line);
    }

    /// <summary>A name, namespace.attribute, or a tuple of names (for loops and set).</summary>
    private Expr ParseAssignTarget(bool allowNamespace, params string[] extraEnd)
    {
        var token = Current;
        if (allowNamespace && token.Kind == TokenKind.Name && Peek.IsOperator("."))
        {
            position += 2;
            var attribute = Expect(TokenKind.Name);
            return new GetAttrExpr(new NameExpr(token.Value, token.Line), attribute.Value, token.Line);
        }

        var target = ParseTupleCore(withCondition: true, simplified: true, explicitParentheses: false, extraEnd);
        if (!IsAssignable(target))
        {
            throw Fail($"can't assign to {target.GetType().Name}", token);
        }

        return target;
    }

    private static bool IsAssignable(Expr e) => e is NameExpr || (e is TupleExpr t && t.Items.All(IsAssignable));

    private bool IsTupleEnd(string[] extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || Current.IsOperator(")")
        || (Current.Kind == TokenKind.Name && extraEnd.Contains(Current.Value));

    /// <summary>One expression, or a tuple when commas separate several (Jinja's parse_tuple).</summary>
    private Expr ParseTuple(bool withCondition = true, params string[] extraEnd) =>
        ParseTupleCore(withCondition, simplified: false, explicitParentheses: false, extraEnd);

    private Expr ParseTupleCore(bool withCondition, bool simplified, bool explicitParentheses, string[] extraEnd)
    {
        int line = Current.Line;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
            }

            if (IsTupleEnd(extraEnd))
            {
                break;
            }

            items.Add(simplified ? ParsePrimary() : withCondition ? ParseExpression() : ParseOr());
            if (Current.IsOperator(","))
            {
                isTuple = true;
            }
            else
            {
                break;
            }
        }

        if (!isTuple)
        {
            if (items.Count > 0)
            {
                return items[0];
            }

            if (!explicitParentheses)
            {
                throw Fail($"Expected an expression, got '{Current.Describe()}'");
            }
        }

        return new TupleExpr(items, line);
    }

    private Expr ParseExpression()
    {
        if (++depth > JinjaLimits.MaxParseDepth)
        {
            throw Fail("the expression nests too deeply");
        }

        try
        {
            return ParseConditional();
        }
        finally
        {
            depth--;
        }
    }

    private Expr ParseConditional()
    {
        int line = Current.Line;
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseConditional() : null;
            expr = new CondExpr(test, expr, otherwise, line);
            line = Current.Line;
        }

        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            int line = Next().Line;
            left = new OrExpr(left, ParseAnd(), line);
        }

        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            int line = Next().Line;
            left = new AndExpr(left, ParseNot(), line);
        }

        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            int line = Next().Line;
            return new NotExpr(ParseNot(), line);
        }

        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Current.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOperators.Contains(Current.Value))
            {
                string op = Next().Value;
                rest.Add((op, ParseMath1()));
            }
            else if (SkipName("in"))
            {
                rest.Add(("in", ParseMath1()));
            }
            else if (Current.IsName("not") && Peek.IsName("in"))
            {
                position += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else
            {
                break;
            }
        }

        return rest.Count == 0 ? first : new CompareExpr(first, rest, line);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-"))
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParseConcat(), op.Line);
        }

        return left;
    }

    private Expr ParseConcat()
    {
        int line = Current.Line;
        var items = new List<Expr> { ParseMath2() };
        while (SkipOperator("~"))
        {
            items.Add(ParseMath2());
        }

        return items.Count == 1 ? items[0] : new ConcatExpr(items, line);
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParsePow(), op.Line);
        }

        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary();
        while (Current.IsOperator("**"))
        {
            var op = Next();
            left = new BinaryExpr("**", left, ParseUnary(), op.Line);
        }

        return left;
    }

    private Expr ParseUnary(bool withFilter = true)
    {
        if (++depth > JinjaLimits.MaxParseDepth)
        {
            throw Fail("the expression nests too deeply");
        }

        try
        {
            Expr node;
            if (Current.IsOperator("-"))
            {
                int line = Next().Line;
                node = new NegExpr(ParseUnary(false), line);
            }
            else if (Current.IsOperator("+"))
            {
                int line = Next().Line;
                node = new PosExpr(ParseUnary(false), line);
            }
            else
            {
                node = ParsePrimary();
            }

            node = ParsePostfix(node);
            return withFilter ? ParseFilterExpression(node) : node;
        }
        finally
        {
            depth--;
        }
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Name:
                position++;
                return token.Value switch
                {
                    "true" or "True" => new ConstExpr(true, token.Line),
                    "false" or "False" => new ConstExpr(false, token.Line),
                    "none" or "None" => new ConstExpr(null, token.Line),
                    _ => Name(token),
                };
            case TokenKind.String:
                position++;
                string text = (string)token.Literal!;
                while (Current.Kind == TokenKind.String)
                {
                    text += (string)Next().Literal!;
                }

                return new ConstExpr(text, token.Line);
            case TokenKind.Integer or TokenKind.Float:
                position++;
                return new ConstExpr(token.Literal, token.Line);
            case TokenKind.Operator when token.Value == "(":
                position++;
                var inner = ParseTupleCore(withCondition: true, simplified: false, explicitParentheses: true, []);
                Expect(TokenKind.Operator, ")");
                return inner;
            case TokenKind.Operator when token.Value == "[":
                return ParseList();
            case TokenKind.Operator when token.Value == "{":
                return ParseDict();
            default:
                throw Fail($"unexpected '{token.Describe()}'");
        }
    }

    /// <summary>A name; varargs, kwargs and caller also tell the enclosing macro it takes extra arguments.</summary>
    private NameExpr Name(JinjaToken token)
    {
        if (macroBodies.TryPeek(out var catches))
        {
            switch (token.Value)
            {
                case "varargs": catches.Varargs = true; break;
                case "kwargs": catches.Kwargs = true; break;
                case "caller": catches.Caller = true; break;
            }
        }

        return new NameExpr(token.Value, token.Line);
    }

    private ListExpr ParseList()
    {
        int line = Expect(TokenKind.Operator, "[").Line;
        var items = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (items.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
            }

            if (Current.IsOperator("]"))
            {
                break;
            }

            items.Add(ParseExpression());
        }

        Expect(TokenKind.Operator, "]");
        return new ListExpr(items, line);
    }

    private DictExpr ParseDict()
    {
        int line = Expect(TokenKind.Operator, "{").Line;
        var pairs = new List<(Expr, Expr)>();
        while (!Current.IsOperator("}"))
        {
            if (pairs.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
            }

            if (Current.IsOperator("}"))
            {
                break;
            }

            var key = ParseExpression();
            Expect(TokenKind.Operator, ":");
            pairs.Add((key, ParseExpression()));
        }

        Expect(TokenKind.Operator, "}");
        return new DictExpr(pairs, line);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator(".") || Current.IsOperator("["))
            {
                node = ParseSubscript(node);
            }
            else if (Current.IsOperator("("))
            {
                node = new CallExpr(node, ParseCallArgs(), node.Line);
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseFilterExpression(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                node = ParseFilterChain(node);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOperator("("))
            {
                node = new CallExpr(node, ParseCallArgs(), node.Line);
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var token = Next();
        if (token.Value == ".")
        {
            var attribute = Next();
            return attribute.Kind switch
            {
                TokenKind.Name => new GetAttrExpr(node, attribute.Value, token.Line),
                TokenKind.Integer => new GetItemExpr(node, new ConstExpr(attribute.Literal, attribute.Line), token.Line),
                _ => throw Fail("expected name or number", attribute),
            };
        }

        var keys = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (keys.Count > 0)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOperator("]"))
                {
                    break;
                }
            }

            keys.Add(ParseSubscribed());
        }

        Expect(TokenKind.Operator, "]");
        var key = keys.Count == 1 ? keys[0] : new TupleExpr(keys, token.Line);
        return new GetItemExpr(node, key, token.Line);
    }

    private Expr ParseSubscribed()
    {
        int line = Current.Line;
        Expr? start = null;
        if (!Current.IsOperator(":"))
        {
            start = ParseExpression();
            if (!Current.IsOperator(":"))
            {
                return start;
            }
        }

        position++;
        Expr? stop = Current.IsOperator("]") || Current.IsOperator(",") || Current.IsOperator(":") ? null : ParseExpression();
        Expr? step = null;
        if (SkipOperator(":") && !Current.IsOperator("]") && !Current.IsOperator(","))
        {
            step = ParseExpression();
        }

        return new SliceExpr(start, stop, step, line);
    }

    private CallArgs ParseCallArgs()
    {
        var open = Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        Expr? star = null, doubleStar = null;
        bool requireComma = false;
        while (!Current.IsOperator(")"))
        {
            if (requireComma)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOperator(")"))
                {
                    break;
                }
            }

            if (SkipOperator("*"))
            {
                Ensure(star is null && doubleStar is null, open);
                star = ParseExpression();
            }
            else if (SkipOperator("**"))
            {
                Ensure(doubleStar is null, open);
                doubleStar = ParseExpression();
            }
            else if (Current.Kind == TokenKind.Name && Peek.IsOperator("="))
            {
                Ensure(doubleStar is null, open);
                string key = Next().Value;
                position++;
                keywords.Add((key, ParseExpression()));
            }
            else
            {
                Ensure(star is null && doubleStar is null && keywords.Count == 0, open);
                positional.Add(ParseExpression());
            }

            requireComma = true;
        }

        Expect(TokenKind.Operator, ")");
        return new CallArgs(positional, keywords, star, doubleStar);
    }

    private void Ensure(bool condition, JinjaToken at)
    {
        if (!condition)
        {
            throw Fail("invalid syntax for function call expression", at);
        }
    }

    private FilterExpr ParseFilterChain(Expr? input, bool startInline = false)
    {
        Expr? node = input;
        while (Current.IsOperator("|") || startInline)
        {
            if (!startInline)
            {
                position++;
            }

            var token = Expect(TokenKind.Name);
            string name = token.Value;
            while (SkipOperator("."))
            {
                name += "." + Expect(TokenKind.Name).Value;
            }

            var args = Current.IsOperator("(") ? ParseCallArgs() : CallArgs.None;
            node = new FilterExpr(node, name, args, token.Line);
            startInline = false;
        }

        return (FilterExpr)node!;
    }

    private Expr ParseTest(Expr node)
    {
        var isToken = Next();
        bool negated = SkipName("not");
        var token = Expect(TokenKind.Name);
        string name = token.Value;
        while (SkipOperator("."))
        {
            name += "." + Expect(TokenKind.Name).Value;
        }

        CallArgs args = CallArgs.None;
        if (Current.IsOperator("("))
        {
            args = ParseCallArgs();
        }
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                || Current.IsOperator("(") || Current.IsOperator("[") || Current.IsOperator("{"))
            && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
        {
            if (Current.IsName("is"))
            {
                throw Fail("You cannot chain multiple tests with is");
            }

            args = new CallArgs([ParsePostfix(ParsePrimary())], [], null, null);
        }

        Expr test = new TestExpr(node, name, args, isToken.Line);
        return negated ? new NotExpr(test, isToken.Line) : test;
    }
}
