namespace HyperDex.Runtime.Templating;

/// <summary>
/// A {% macro %} (or the caller() of a {% call %} block): parameters with defaults, its body, and the frame it was
/// defined in, read at call time. Extra arguments land in varargs and kwargs.
/// </summary>
internal sealed class Macro(string name, IReadOnlyList<string> parameters, IReadOnlyList<Expr?> defaults,
    IReadOnlyList<Node> body, JinjaScope closure, Macro? caller) : PyCallable
{
    public string Name { get; } = name;

    public override string TypeName => "Macro";

    public override object? Call(JinjaEvaluator evaluator, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var scope = new JinjaScope(closure);
        var extraKeywords = new PyDict();
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in kwargs)
        {
            if (parameters.Contains(key))
            {
                named[key] = value;
            }
            else if (key == "caller" && caller is null)
            {
                scope.Set("caller", value);
            }
            else
            {
                extraKeywords.Set(key, value);
            }
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            string parameter = parameters[i];
            if (i < args.Count)
            {
                if (named.ContainsKey(parameter))
                {
                    throw JinjaError.Type($"macro '{Name}' got multiple values for argument '{parameter}'");
                }

                scope.Set(parameter, args[i]);
            }
            else if (named.TryGetValue(parameter, out var value))
            {
                scope.Set(parameter, value);
            }
            else if (defaults[i] is { } expression)
            {
                scope.Set(parameter, evaluator.Evaluate(expression, scope));
            }
            else
            {
                scope.Set(parameter, new JinjaUndefined(null, $"parameter {PyFormat.Repr(parameter)} was not provided"));
            }
        }

        scope.Set("varargs", new PyTuple(args.Skip(parameters.Count).ToList()));
        scope.Set("kwargs", extraKeywords);
        if (caller is not null)
        {
            scope.Set("caller", caller);
        }

        return evaluator.RenderMacroBody(body, scope);
    }
}
