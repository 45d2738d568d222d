namespace HyperDex.Runtime.Templating;

/// <summary>Binds positional and keyword arguments to a Python-style signature (for filters, tests, methods, globals).</summary>
internal static class ArgBinder
{
    /// <summary>
    /// The values of <paramref name="names"/>; a missing one takes its entry of <paramref name="defaults"/> (aligned to
    /// the end of the list, as in Python), or fails as Python does.
    /// </summary>
    public static object?[] Bind(string function, List<object?> args, List<KeyValuePair<string, object?>> kwargs,
        string[] names, params object?[] defaults)
    {
        if (args.Count > names.Length)
        {
            throw JinjaError.Type($"{function}() takes at most {names.Length} positional argument(s) ({args.Count} given)");
        }

        var values = new object?[names.Length];
        var given = new bool[names.Length];
        for (int i = 0; i < args.Count; i++)
        {
            values[i] = args[i];
            given[i] = true;
        }

        foreach (var (key, value) in kwargs)
        {
            int index = Array.IndexOf(names, key);
            if (index < 0)
            {
                throw JinjaError.Type($"{function}() got an unexpected keyword argument '{key}'");
            }

            if (given[index])
            {
                throw JinjaError.Type($"{function}() got multiple values for argument '{key}'");
            }

            values[index] = value;
            given[index] = true;
        }

        int firstDefault = names.Length - defaults.Length;
        for (int i = 0; i < names.Length; i++)
        {
            if (!given[i])
            {
                if (i < firstDefault)
                {
                    throw JinjaError.Type($"{function}() missing required argument: '{names[i]}'");
                }

                values[i] = defaults[i - firstDefault];
            }
        }

        return values;
    }
}
