namespace HyperDex.Runtime.Templating;

/// <summary>Jinja2's tests (x is defined, x is string, x is sameas none ...), with Python's type checks.</summary>
internal static class JinjaTests
{
    public static bool Apply(JinjaEvaluator evaluator, string name, object? value, List<object?> args,
        List<KeyValuePair<string, object?>> kwargs)
    {
        object? Arg(string parameter) => ArgBinder.Bind(name, args, kwargs, [parameter])[0];
        switch (name)
        {
            case "defined": return value is not JinjaUndefined;
            case "undefined": return value is JinjaUndefined;
            case "none": return value is null;
            case "boolean": return value is bool;
            case "true": return value is true;
            case "false": return value is false;
            case "integer": return value is long;
            case "float": return value is double;
            case "number": return value is bool or long or double;
            case "string": return PyOps.IsString(value);
            case "mapping": return value is PyDict;
            case "sequence": return value is string or PyMarkup or List<object?> or PyTuple or PyDict or PyRange or JinjaUndefined;
            case "iterable": return value is string or PyMarkup or List<object?> or PyTuple or PyDict or PyRange or PyGenerator or JinjaUndefined or LoopContext;
            case "callable": return value is PyCallable || value is LoopContext { Recurse: not null };
            case "escaped": return value is PyMarkup;
            case "sameas":
                var other = Arg("other");
                return (value is null && other is null) || (value is bool b && other is bool o && b == o) || (value is not null && ReferenceEquals(value, other))
                    || (value is long l && other is long m && l == m && l is >= -5 and <= 256);
            case "odd": return Integer(value, name) % 2 != 0;
            case "even": return Integer(value, name) % 2 == 0;
            case "divisibleby":
                long divisor = Integer(Arg("num"), name);
                return divisor == 0 ? throw new JinjaError("ZeroDivisionError", "integer modulo by zero") : Integer(value, name) % divisor == 0;
            case "lower": return PyOps.AsString(value) is { } lower && lower.Any(char.IsLetter) && !lower.Any(char.IsUpper);
            case "upper": return PyOps.AsString(value) is { } upper && upper.Any(char.IsLetter) && !upper.Any(char.IsLower);
            case "in": return PyOps.Contains(Arg("seq"), value);
            case "==" or "eq" or "equalto": return PyOps.Eq(value, Arg("other"));
            case "!=" or "ne": return !PyOps.Eq(value, Arg("other"));
            case "<" or "lt" or "lessthan": return PyOps.Compare(value, Arg("other"), "<") < 0;
            case "<=" or "le": return PyOps.Compare(value, Arg("other"), "<=") <= 0;
            case ">" or "gt" or "greaterthan": return PyOps.Compare(value, Arg("other"), ">") > 0;
            case ">=" or "ge": return PyOps.Compare(value, Arg("other"), ">=") >= 0;
            case "filter": return value is string f && JinjaFilters.Exists(f);
            case "test": return value is string t && Exists(t);
            default: throw JinjaError.Runtime($"No test named '{name}'.");
        }
    }

    public static bool Exists(string name) => name is "defined" or "undefined" or "none" or "boolean" or "true" or "false"
        or "integer" or "float" or "number" or "string" or "mapping" or "sequence" or "iterable" or "callable" or "escaped"
        or "sameas" or "odd" or "even" or "divisibleby" or "lower" or "upper" or "in" or "==" or "eq" or "equalto" or "!="
        or "ne" or "<" or "lt" or "lessthan" or "<=" or "le" or ">" or "gt" or "greaterthan" or ">=" or "ge" or "filter" or "test";

    private static long Integer(object? value, string test) => value switch
    {
        long or bool => PyOps.ToLong(value),
        double d when d == Math.Floor(d) => (long)d,
        JinjaUndefined u => throw u.Fail(),
        _ => throw JinjaError.Type($"the '{test}' test needs an integer, not '{PyOps.TypeName(value)}'"),
    };
}
