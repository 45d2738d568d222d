namespace HyperDex.Runtime.Templating;

/// <summary>
/// Jinja2's sandboxed <c>getattr</c> (x.name: attribute first, then item) and <c>getitem</c> (x[key]: item first,
/// then attribute), and Python slicing. Dunder attributes are unsafe; the immutable sandbox refuses mutating methods.
/// </summary>
internal static class JinjaAccess
{
    public static object? GetAttribute(object? target, string name)
    {
        if (target is JinjaUndefined undefined)
        {
            throw undefined.Fail();
        }

        if (IsDunder(name))
        {
            return Unsafe(target, name);
        }

        var attribute = Attribute(target, name);
        if (attribute is not null)
        {
            return attribute.Value.Value;
        }

        return TryItem(target, name, out var item) ? item : new JinjaUndefined(target, name);
    }

    public static object? GetItem(object? target, object? key)
    {
        if (target is JinjaUndefined undefined)
        {
            throw undefined.Fail();
        }

        if (TryItem(target, key, out var item))
        {
            return item;
        }

        if (key is string name)
        {
            if (IsDunder(name))
            {
                return Unsafe(target, name);
            }

            if (Attribute(target, name) is { } attribute)
            {
                return attribute.Value;
            }
        }

        return new JinjaUndefined(target, key);
    }

    private static bool IsDunder(string name) => name.StartsWith("__", StringComparison.Ordinal) && name.EndsWith("__", StringComparison.Ordinal);

    private static JinjaUndefined Unsafe(object? target, string name) =>
        new(name, $"access to attribute {PyFormat.Repr(name)} of {PyFormat.Repr(PyOps.TypeName(target))} object is unsafe.", unsafeAccess: true);

    /// <summary>A Python attribute of the value (a method, a loop or namespace attribute), or null when it has none.</summary>
    private static KeyValuePair<string, object?>? Attribute(object? target, string name)
    {
        switch (target)
        {
            case JinjaNamespace ns:
                return ns.Attributes.TryGetValue(name, out var value) ? new(name, value) : null;
            case LoopContext loop:
                var loopValue = loop.GetAttribute(name);
                return loopValue is JinjaUndefined ? null : new(name, loopValue);
            case Macro macro when name == "name":
                return new(name, macro.Name);
        }

        if (PyMethods.IsMutating(target, name))
        {
            return new(name, Unsafe(target, name));
        }

        var method = PyMethods.Get(target, name);
        return method is null ? null : new(name, method);
    }

    private static bool TryItem(object? target, object? key, out object? item)
    {
        item = null;
        switch (target)
        {
            case PyDict dict:
                return key is not (List<object?> or PyDict) && dict.TryGet(key, out item);
            case List<object?> or PyTuple or PyRange when key is long or bool:
                var items = target switch { List<object?> l => (IReadOnlyList<object?>)l, PyTuple t => t.Items, _ => PyOps.ToList(target) };
                long index = PyOps.ToLong(key);
                if (index < 0)
                {
                    index += items.Count;
                }

                if (index < 0 || index >= items.Count)
                {
                    return false;
                }

                item = items[(int)index];
                return true;
            case string or PyMarkup when key is long or bool:
                var characters = PyOps.ToList(target);
                long at = PyOps.ToLong(key);
                if (at < 0)
                {
                    at += characters.Count;
                }

                if (at < 0 || at >= characters.Count)
                {
                    return false;
                }

                item = characters[(int)at];
                return true;
            default:
                return false;
        }
    }

    /// <summary>Python's seq[start:stop:step] for lists, tuples and strings (by code point).</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is JinjaUndefined undefined)
        {
            throw undefined.Fail();
        }

        long stepValue = step is null ? 1 : SliceIndex(step);
        if (stepValue == 0)
        {
            throw new JinjaError("ValueError", "slice step cannot be zero");
        }

        IReadOnlyList<object?> items = target switch
        {
            List<object?> l => l,
            PyTuple t => t.Items,
            string or PyMarkup or PyRange => PyOps.ToList(target),
            _ => throw JinjaError.Type($"'{PyOps.TypeName(target)}' object is not subscriptable"),
        };
        int count = items.Count;
        long Clamp(object? value, long forEmpty)
        {
            if (value is null)
            {
                return forEmpty;
            }

            long v = SliceIndex(value);
            if (v < 0)
            {
                v += count;
            }

            return stepValue > 0 ? Math.Clamp(v, 0, count) : Math.Clamp(v, -1, count - 1);
        }

        long from = Clamp(start, stepValue > 0 ? 0 : count - 1);
        long to = Clamp(stop, stepValue > 0 ? count : -1);
        var result = new List<object?>();
        for (long i = from; stepValue > 0 ? i < to : i > to; i += stepValue)
        {
            result.Add(items[(int)i]);
        }

        return target switch
        {
            string or PyMarkup => string.Concat(result.Cast<string>()),
            PyTuple => new PyTuple(result),
            _ => result,
        };
    }

    private static long SliceIndex(object? value) => value switch
    {
        long or bool => PyOps.ToLong(value),
        JinjaUndefined u => throw u.Fail(),
        _ => throw JinjaError.Type("slice indices must be integers or None or have an __index__ method"),
    };
}
