namespace HyperDex.Runtime.Templating;

/// <summary>
/// The globals a chat template can call: Jinja's range (capped as the sandbox caps it), dict, namespace, cycler,
/// joiner, and transformers' raise_exception and strftime_now (which reads the evaluator's clock).
/// </summary>
internal static class JinjaGlobals
{
    public static Dictionary<string, object?> Create() => new(StringComparer.Ordinal)
    {
        ["range"] = new PyFunction("range", (_, a, k) => Range(a, k), "type"),
        ["dict"] = new PyFunction("dict", (_, a, k) => Dict(a, k), "type"),
        ["namespace"] = new PyFunction("namespace", (_, a, k) => Namespace(a, k), "type"),
        ["raise_exception"] = new PyFunction("raise_exception", (_, a, k) =>
            throw new JinjaError("TemplateError", PyFormat.Str(ArgBinder.Bind("raise_exception", a, k, ["message"])[0])), "function"),
        ["strftime_now"] = new PyFunction("strftime_now", (e, a, k) =>
            PyStrftime.Format(e.Clock.GetLocalNow().DateTime, PyMethods.Text(ArgBinder.Bind("strftime_now", a, k, ["format"])[0])), "function"),
        ["cycler"] = new PyFunction("cycler", (_, a, _) => Cycler(a), "type"),
        ["joiner"] = new PyFunction("joiner", (_, a, k) => Joiner(PyFormat.Str(ArgBinder.Bind("joiner", a, k, ["sep"], ", ")[0])), "type"),
    };

    private static PyRange Range(List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        if (kwargs.Count > 0)
        {
            throw JinjaError.Type("range() takes no keyword arguments");
        }

        var values = args.Select(a => a is long or bool ? PyOps.ToLong(a)
            : throw JinjaError.Type($"'{PyOps.TypeName(a)}' object cannot be interpreted as an integer")).ToList();
        var range = values.Count switch
        {
            1 => new PyRange(0, values[0], 1),
            2 => new PyRange(values[0], values[1], 1),
            3 when values[2] == 0 => throw new JinjaError("ValueError", "range() arg 3 must not be zero"),
            3 => new PyRange(values[0], values[1], values[2]),
            _ => throw JinjaError.Type($"range expected at most 3 arguments, got {values.Count}"),
        };
        if (range.Count > JinjaLimits.MaxRange)
        {
            throw new JinjaError("OverflowError", $"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({JinjaLimits.MaxRange}).");
        }

        return range;
    }

    private static PyDict Dict(List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var dict = new PyDict();
        if (args.Count > 1)
        {
            throw JinjaError.Type($"dict expected at most 1 argument, got {args.Count}");
        }

        if (args.Count == 1)
        {
            if (args[0] is PyDict source)
            {
                foreach (var (key, value) in source.Entries)
                {
                    dict.Set(key, value);
                }
            }
            else
            {
                foreach (var pair in PyOps.Iterate(args[0]))
                {
                    var kv = PyOps.ToList(pair);
                    if (kv.Count != 2)
                    {
                        throw new JinjaError("ValueError", "dictionary update sequence element has the wrong length; 2 is required");
                    }

                    dict.Set(kv[0], kv[1]);
                }
            }
        }

        foreach (var (key, value) in kwargs)
        {
            dict.Set(key, value);
        }

        return dict;
    }

    private static JinjaNamespace Namespace(List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var ns = new JinjaNamespace();
        foreach (var (key, value) in Dict(args, []).Entries)
        {
            ns.Attributes[PyFormat.Str(key)] = value;
        }

        foreach (var (key, value) in kwargs)
        {
            ns.Attributes[key] = value;
        }

        return ns;
    }

    private static JinjaNamespace Cycler(List<object?> items)
    {
        var ns = new JinjaNamespace();
        int position = 0;
        ns.Attributes["next"] = new PyFunction("next", (_, _, _) =>
        {
            var value = items.Count == 0 ? null : items[position];
            position = items.Count == 0 ? 0 : (position + 1) % items.Count;
            return value;
        });
        ns.Attributes["reset"] = new PyFunction("reset", (_, _, _) =>
        {
            position = 0;
            return null;
        });
        ns.Attributes["current"] = items.Count == 0 ? null : items[0];
        return ns;
    }

    private static PyFunction Joiner(string separator)
    {
        bool used = false;
        return new PyFunction("joiner", (_, _, _) =>
        {
            if (!used)
            {
                used = true;
                return string.Empty;
            }

            return separator;
        });
    }
}
