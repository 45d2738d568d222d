using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// Renders a parsed template: statements write to an output bounded by <see cref="JinjaLimits"/>; expressions follow
/// Jinja2's sandboxed semantics (attribute and item lookup fall back to each other, unknown names are Undefined,
/// mutating methods are refused as in the ImmutableSandboxedEnvironment transformers uses).
/// </summary>
internal sealed class JinjaEvaluator
{
    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private readonly Dictionary<string, object?> globals;
    private StringBuilder output = new();
    private long loopIterations;
    private int callDepth;
    private int currentLine;

    public JinjaEvaluator(TimeProvider clock)
    {
        Clock = clock;
        globals = JinjaGlobals.Create();
    }

    public TimeProvider Clock { get; }

    public string Render(IReadOnlyList<Node> template, JinjaScope root)
    {
        output = new StringBuilder();
        try
        {
            ExecuteBody(template, root);
        }
        catch (JinjaError e) when (e.Line == 0)
        {
            e.Line = currentLine;
            throw;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new JinjaError("RecursionError", "maximum recursion depth exceeded", currentLine);
        }

        return output.ToString();
    }

    private Flow ExecuteBody(IReadOnlyList<Node> body, JinjaScope scope)
    {
        foreach (var node in body)
        {
            var flow = Execute(node, scope);
            if (flow != Flow.Normal)
            {
                return flow;
            }
        }

        return Flow.Normal;
    }

    private Flow Execute(Node node, JinjaScope scope)
    {
        currentLine = node.Line;
        switch (node)
        {
            case DataNode data:
                Write(data.Text);
                return Flow.Normal;
            case Expr expression:
                Write(PyFormat.Str(Evaluate(expression, scope)));
                return Flow.Normal;
            case IfNode conditional:
                return ExecuteBody(PyOps.Truthy(Evaluate(conditional.Test, scope)) ? conditional.Body : conditional.Else, scope);
            case ForNode loop:
                Write(RunLoop(loop, Evaluate(loop.Iterable, scope), scope, 0));
                return Flow.Normal;
            case SetNode set:
                Assign(set.Target, Evaluate(set.Value, scope), scope);
                return Flow.Normal;
            case SetBlockNode setBlock:
                object? captured = Capture(() => ExecuteBody(setBlock.Body, scope));
                if (setBlock.Filter is not null)
                {
                    captured = ApplyFilterChain(setBlock.Filter, captured, scope);
                }

                Assign(setBlock.Target, captured, scope);
                return Flow.Normal;
            case MacroNode macro:
                scope.Set(macro.Name, new Macro(macro.Name, macro.Parameters, macro.Defaults, macro.Body, macro.Catches, scope));
                return Flow.Normal;
            case CallBlockNode callBlock:
                var caller = new Macro("caller", callBlock.Parameters, callBlock.Defaults, callBlock.Body, callBlock.Catches, scope);
                var (callee, args, kwargs) = PrepareCall(callBlock.Call, scope);
                kwargs.Add(new("caller", caller));
                Write(PyFormat.Str(Invoke(callee, args, kwargs)));
                return Flow.Normal;
            case FilterBlockNode filterBlock:
                string body = Capture(() => ExecuteBody(filterBlock.Body, scope));
                Write(PyFormat.Str(ApplyFilterChain(filterBlock.Filter, body, scope)));
                return Flow.Normal;
            case WithNode with:
                var inner = new JinjaScope(scope);
                foreach (var (target, value) in with.Assignments)
                {
                    Assign(target, Evaluate(value, scope), inner);
                }

                return ExecuteBody(with.Body, inner);
            case ScopeNode block:
                return ExecuteBody(block.Body, block.NewScope ? new JinjaScope(scope) : scope);
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            default:
                throw new InvalidOperationException($"unknown node {node.GetType().Name}");
        }
    }

    private void Write(string text)
    {
        if (output.Length + text.Length > JinjaLimits.MaxOutputChars)
        {
            throw new JinjaError("MemoryError", $"the template's output exceeds {JinjaLimits.MaxOutputChars} characters");
        }

        output.Append(text);
    }

    /// <summary>Runs <paramref name="action"/> with its own output and returns what it wrote.</summary>
    private string Capture(Action action)
    {
        var saved = output;
        output = new StringBuilder();
        try
        {
            action();
            return output.ToString();
        }
        finally
        {
            output = saved;
        }
    }

    private string Capture(Func<Flow> action) => Capture(() => { action(); });

    public string RenderMacroBody(IReadOnlyList<Node> body, JinjaScope scope)
    {
        EnterCall();
        try
        {
            return Capture(() => ExecuteBody(body, scope));
        }
        finally
        {
            callDepth--;
        }
    }

    private void EnterCall()
    {
        if (++callDepth > JinjaLimits.MaxCallDepth)
        {
            callDepth--;
            throw new JinjaError("RecursionError", "maximum recursion depth exceeded while calling a macro");
        }

        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
    }

    private string RunLoop(ForNode loop, object? iterable, JinjaScope scope, int depth)
    {
        var items = new List<object?>();
        foreach (var item in PyOps.Iterate(iterable))
        {
            CountIteration();
            if (loop.Filter is not null)
            {
                var filterScope = new JinjaScope(scope);
                Assign(loop.Target, item, filterScope);
                if (!PyOps.Truthy(Evaluate(loop.Filter, filterScope)))
                {
                    continue;
                }
            }

            items.Add(item);
        }

        return Capture(() =>
        {
            if (items.Count == 0)
            {
                ExecuteBody(loop.Else, scope);
                return;
            }

            Func<object?, string>? recurse = loop.Recursive ? children =>
            {
                EnterCall();
                try
                {
                    return RunLoop(loop, children, scope, depth + 1);
                }
                finally
                {
                    callDepth--;
                }
            } : null;
            var context = new LoopContext(items, depth, recurse);
            for (int i = 0; i < items.Count; i++)
            {
                CountIteration();
                context.Index0 = i;
                var iteration = new JinjaScope(scope);
                Assign(loop.Target, items[i], iteration);
                iteration.Set("loop", context);
                if (ExecuteBody(loop.Body, iteration) == Flow.Break)
                {
                    break;
                }
            }
        });
    }

    private void CountIteration()
    {
        if (++loopIterations > JinjaLimits.MaxLoopIterations)
        {
            throw new JinjaError("MemoryError", $"the template loops more than {JinjaLimits.MaxLoopIterations} times");
        }
    }

    private static void Assign(Expr target, object? value, JinjaScope scope)
    {
        switch (target)
        {
            case NameExpr name:
                scope.Set(name.Name, value);
                break;
            case TupleExpr tuple:
                var values = value is List<object?> or PyTuple or PyDict or string or PyMarkup or PyRange or PyGenerator or JinjaUndefined
                    ? PyOps.ToList(value)
                    : throw JinjaError.Type($"cannot unpack non-iterable {PyOps.TypeName(value)} object");
                if (values.Count != tuple.Items.Count)
                {
                    throw new JinjaError("ValueError", values.Count > tuple.Items.Count
                        ? $"too many values to unpack (expected {tuple.Items.Count})"
                        : $"not enough values to unpack (expected {tuple.Items.Count}, got {values.Count})");
                }

                for (int i = 0; i < values.Count; i++)
                {
                    Assign(tuple.Items[i], values[i], scope);
                }

                break;
            case GetAttrExpr { Target: NameExpr owner } attribute:
                if (!scope.TryLookup(owner.Name, out var ns) || ns is not JinjaNamespace jinjaNamespace)
                {
                    throw JinjaError.Runtime("cannot assign attribute on non-namespace object");
                }

                jinjaNamespace.Attributes[attribute.Attribute] = value;
                break;
            default:
                throw JinjaError.Runtime("cannot assign to this expression");
        }
    }

    public object? Evaluate(Expr expression, JinjaScope scope)
    {
        switch (expression)
        {
            case ConstExpr constant:
                return constant.Value;
            case NameExpr name:
                return Lookup(name.Name, scope);
            case TupleExpr tuple:
                return new PyTuple(tuple.Items.Select(i => Evaluate(i, scope)).ToList());
            case ListExpr list:
                return list.Items.Select(i => Evaluate(i, scope)).ToList();
            case DictExpr dict:
                var result = new PyDict();
                foreach (var (key, value) in dict.Pairs)
                {
                    result.Set(Evaluate(key, scope), Evaluate(value, scope));
                }

                return result;
            case GetAttrExpr attribute:
                return JinjaAccess.GetAttribute(Evaluate(attribute.Target, scope), attribute.Attribute);
            case GetItemExpr item when item.Key is SliceExpr slice:
                return JinjaAccess.Slice(Evaluate(item.Target, scope), Optional(slice.Start, scope), Optional(slice.Stop, scope),
                    Optional(slice.Step, scope));
            case GetItemExpr item:
                return JinjaAccess.GetItem(Evaluate(item.Target, scope), Evaluate(item.Key, scope));
            case CallExpr call:
                var (callee, args, kwargs) = PrepareCall(call, scope);
                return Invoke(callee, args, kwargs);
            case FilterExpr filter:
                return ApplyFilterChain(filter, null, scope);
            case TestExpr test:
                var (testArgs, testKwargs) = EvaluateArgs(test.Args, scope);
                return JinjaTests.Apply(this, test.Name, Evaluate(test.Input, scope), testArgs, testKwargs);
            case BinaryExpr binary:
                var left = Evaluate(binary.Left, scope);
                var right = Evaluate(binary.Right, scope);
                return binary.Operator == "+" ? PyOps.Add(left, right) : PyOps.Arithmetic(binary.Operator, left, right);
            case ConcatExpr concat:
                var sb = new StringBuilder();
                foreach (var item in concat.Items)
                {
                    sb.Append(PyFormat.Str(Evaluate(item, scope)));
                    if (sb.Length > JinjaLimits.MaxOutputChars)
                    {
                        throw new JinjaError("MemoryError", "a concatenated string exceeds the renderer's limit");
                    }
                }

                return sb.ToString();
            case CompareExpr compare:
                return EvaluateCompare(compare, scope);
            case AndExpr and:
                var first = Evaluate(and.Left, scope);
                return PyOps.Truthy(first) ? Evaluate(and.Right, scope) : first;
            case OrExpr or:
                var either = Evaluate(or.Left, scope);
                return PyOps.Truthy(either) ? either : Evaluate(or.Right, scope);
            case NotExpr not:
                return !PyOps.Truthy(Evaluate(not.Operand, scope));
            case NegExpr negative:
                return PyOps.Negate(Evaluate(negative.Operand, scope));
            case PosExpr positive:
                var operand = Evaluate(positive.Operand, scope);
                return PyOps.IsNumber(operand) ? operand : throw JinjaError.Type($"bad operand type for unary +: '{PyOps.TypeName(operand)}'");
            case CondExpr conditional:
                if (PyOps.Truthy(Evaluate(conditional.Test, scope)))
                {
                    return Evaluate(conditional.Then, scope);
                }

                return conditional.Else is null
                    ? new JinjaUndefined(null, $"the inline if-expression on line {conditional.Line} evaluated to false and no else section was defined.")
                    : Evaluate(conditional.Else, scope);
            case SliceExpr:
                throw JinjaError.Syntax("a slice is only valid inside []", expression.Line);
            default:
                throw new InvalidOperationException($"unknown expression {expression.GetType().Name}");
        }
    }

    private object? Optional(Expr? expression, JinjaScope scope) => expression is null ? null : Evaluate(expression, scope);

    private object? Lookup(string name, JinjaScope scope)
    {
        if (scope.TryLookup(name, out var value))
        {
            return value;
        }

        return globals.TryGetValue(name, out var global) ? global : new JinjaUndefined(name);
    }

    private bool EvaluateCompare(CompareExpr compare, JinjaScope scope)
    {
        var left = Evaluate(compare.First, scope);
        foreach (var (op, operandExpression) in compare.Rest)
        {
            var right = Evaluate(operandExpression, scope);
            bool holds = op switch
            {
                "==" => PyOps.Eq(left, right),
                "!=" => !PyOps.Eq(left, right),
                "<" => PyOps.Compare(left, right, "<") < 0,
                "<=" => PyOps.Compare(left, right, "<=") <= 0,
                ">" => PyOps.Compare(left, right, ">") > 0,
                ">=" => PyOps.Compare(left, right, ">=") >= 0,
                "in" => PyOps.Contains(right, left),
                "notin" => !PyOps.Contains(right, left),
                _ => throw new InvalidOperationException(op),
            };
            if (!holds)
            {
                return false;
            }

            left = right;
        }

        return true;
    }

    private (object? Callee, List<object?> Args, List<KeyValuePair<string, object?>> Kwargs) PrepareCall(CallExpr call, JinjaScope scope)
    {
        var callee = Evaluate(call.Target, scope);
        var (args, kwargs) = EvaluateArgs(call.Args, scope);
        return (callee, args, kwargs);
    }

    public (List<object?> Args, List<KeyValuePair<string, object?>> Kwargs) EvaluateArgs(CallArgs callArgs, JinjaScope scope)
    {
        var args = callArgs.Positional.Select(a => Evaluate(a, scope)).ToList();
        if (callArgs.Star is not null)
        {
            args.AddRange(PyOps.Iterate(Evaluate(callArgs.Star, scope)));
        }

        var kwargs = callArgs.Keywords.Select(k => new KeyValuePair<string, object?>(k.Name, Evaluate(k.Value, scope))).ToList();
        if (callArgs.DoubleStar is not null)
        {
            if (Evaluate(callArgs.DoubleStar, scope) is not PyDict extra)
            {
                throw JinjaError.Type("argument after ** must be a mapping");
            }

            foreach (var (key, value) in extra.Entries)
            {
                kwargs.Add(new(key as string ?? throw JinjaError.Type("keywords must be strings"), value));
            }
        }

        return (args, kwargs);
    }

    public object? Invoke(object? callee, List<object?> args, List<KeyValuePair<string, object?>> kwargs) => callee switch
    {
        PyCallable callable => callable.Call(this, args, kwargs),
        LoopContext { Recurse: { } recurse } => args.Count == 1
            ? recurse(args[0])
            : throw JinjaError.Type("loop() takes exactly one argument"),
        JinjaUndefined undefined => throw undefined.Fail(),
        _ => throw JinjaError.Type($"'{PyOps.TypeName(callee)}' object is not callable"),
    };

    /// <summary>Applies a chain of filters; the innermost filter's input is <paramref name="input"/> when it has none.</summary>
    private object? ApplyFilterChain(FilterExpr filter, object? input, JinjaScope scope)
    {
        var value = filter.Input is null ? input : filter.Input is FilterExpr inner ? ApplyFilterChain(inner, input, scope) : Evaluate(filter.Input, scope);
        var (args, kwargs) = EvaluateArgs(filter.Args, scope);
        return JinjaFilters.Apply(this, filter.Name, value, args, kwargs);
    }
}
