namespace HyperDex.Runtime.Templating;

/// <summary>
/// A {% macro %} (or the caller() of a {% call %} block): parameters with defaults, its body, and the frame it was
/// defined in, read at call time. Extra arguments land in varargs and kwargs.
/// </summary>
internal sealed class Macro(string name, IReadOnlyList<string> parameters, IReadOnlyList<Expr?> defaults,
    IReadOnlyList<Node> body, MacroCatches catches, JinjaScope closure) : PyCallable
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
            else if (key == "caller" && catches.Caller)
            {
                scope.Set("caller", value);
            }
            else if (catches.Kwargs)
            {
                extraKeywords.Set(key, value);
            }
            else
            {
                throw JinjaError.Type($"macro '{Name}' takes no keyword argument '{key}'");
            }
        }

        if (args.Count > parameters.Count && !catches.Varargs)
        {
            throw JinjaError.Type($"macro '{Name}' takes not more than {parameters.Count} argument(s)");
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
        return evaluator.RenderMacroBody(body, scope);
    }
}
