namespace HyperDex.Runtime.Templating;

/// <summary>
/// The value model of the renderer, mirroring Python's: null is None, bool, long (int), double (float), string,
/// <see cref="List{T}"/> of object? (list), <see cref="PyTuple"/>, <see cref="PyDict"/>, and the Jinja objects below.
/// </summary>
internal sealed class PyTuple(IReadOnlyList<object?> items)
{
    public IReadOnlyList<object?> Items { get; } = items;
}

/// <summary>A Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
internal sealed class PyDict
{
    private readonly Dictionary<object, object?> entries = new(PyKeyComparer.Instance);
    private readonly List<object> order = [];

    public int Count => order.Count;

    public IEnumerable<object> Keys => order;

    public IEnumerable<object?> Values => order.Select(k => entries[k]);

    public IEnumerable<KeyValuePair<object, object?>> Entries => order.Select(k => new KeyValuePair<object, object?>(k, entries[k]));

    public bool TryGet(object? key, out object? value)
    {
        value = null;
        return key is not null && entries.TryGetValue(key, out value);
    }

    public bool ContainsKey(object? key) => key is not null && entries.ContainsKey(key);

    /// <summary>Sets a key; None as a key is not supported by this renderer.</summary>
    public void Set(object? key, object? value)
    {
        if (key is null)
        {
            throw JinjaError.Type("None is not supported as a dict key by this renderer");
        }

        if (key is List<object?> or PyDict)
        {
            throw JinjaError.Type($"unhashable type: '{PyOps.TypeName(key)}'");
        }

        if (!entries.ContainsKey(key))
        {
            order.Add(key);
        }

        entries[key] = value;
    }
}

/// <summary>A Jinja Undefined: prints as nothing, is falsy and empty; most other uses raise UndefinedError.</summary>
internal sealed class JinjaUndefined
{
    private readonly string? hint;
    private readonly object? owner;
    private readonly bool hasOwner;

    public JinjaUndefined(string? name, string? hint = null, bool unsafeAccess = false)
    {
        Name = name;
        this.hint = hint;
        Unsafe = unsafeAccess;
    }

    /// <summary>An undefined produced by looking <paramref name="name"/> up in <paramref name="owner"/>.</summary>
    public JinjaUndefined(object? owner, object? name)
    {
        this.owner = owner;
        hasOwner = true;
        Name = name;
    }

    public object? Name { get; }

    /// <summary>Raised as SecurityError rather than UndefinedError (the sandbox refused the attribute).</summary>
    public bool Unsafe { get; }

    public string Message
    {
        get
        {
            if (hint is not null)
            {
                return hint;
            }

            if (!hasOwner)
            {
                return $"{PyFormat.Repr(Name)} is undefined";
            }

            string ownerText = owner is null ? "None" : $"{PyOps.TypeName(owner)} object";
            return Name is string
                ? $"{PyFormat.Repr(ownerText)} has no attribute {PyFormat.Repr(Name)}"
                : $"{ownerText} has no element {PyFormat.Repr(Name)}";
        }
    }

    public JinjaError Fail() => new(Unsafe ? "SecurityError" : "UndefinedError", Message);
}

/// <summary>Markup (a string marked safe): concatenating a plain string to it HTML-escapes that string.</summary>
internal sealed class PyMarkup(string value)
{
    public string Value { get; } = value;

    public static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal);
}

/// <summary>Jinja's namespace(): the one object whose attributes a template may assign.</summary>
internal sealed class JinjaNamespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>Something a template can call: a global, a bound method, a macro, loop.cycle ...</summary>
internal abstract class PyCallable
{
    public abstract string TypeName { get; }

    public abstract object? Call(JinjaEvaluator evaluator, List<object?> args, List<KeyValuePair<string, object?>> kwargs);
}

/// <summary>A callable backed by a delegate (globals and methods of built-in types).</summary>
internal sealed class PyFunction(string name, Func<JinjaEvaluator, List<object?>, List<KeyValuePair<string, object?>>, object?> body,
    string typeName = "builtin_function_or_method") : PyCallable
{
    public string Name { get; } = name;

    public override string TypeName { get; } = typeName;

    public override object? Call(JinjaEvaluator evaluator, List<object?> args, List<KeyValuePair<string, object?>> kwargs) =>
        body(evaluator, args, kwargs);
}

/// <summary>Python's range object (the sandbox caps its length).</summary>
internal sealed class PyRange(long start, long stop, long step)
{
    public long Start { get; } = start;

    public long Stop { get; } = stop;

    public long Step { get; } = step;

    public long Count => Step > 0 ? Math.Max(0, (Stop - Start + Step - 1) / Step) : Math.Max(0, (Start - Stop - Step - 1) / -Step);

    public IEnumerable<object?> Items()
    {
        for (long i = 0; i < Count; i++)
        {
            yield return Start + (i * Step);
        }
    }
}

/// <summary>Keys of a <see cref="PyDict"/> compare as Python compares them.</summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => PyOps.Eq(x, y);

    public int GetHashCode(object obj) => obj switch
    {
        bool b => b ? 1 : 0,
        long l => l.GetHashCode(),
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => ((long)d).GetHashCode(),
        double d => d.GetHashCode(),
        string s => StringComparer.Ordinal.GetHashCode(s),
        PyMarkup m => StringComparer.Ordinal.GetHashCode(m.Value),
        PyTuple t => t.Items.Aggregate(17, (h, i) => (h * 31) + (i is null ? 0 : GetHashCode(i))),
        _ => obj.GetHashCode(),
    };
}

/// <summary>
/// A Python generator, which map/select/reject/selectattr/rejectattr/unique/batch return: iterable once, always
/// truthy, no len().
/// </summary>
internal sealed class PyGenerator(IEnumerable<object?> items, string typeName = "generator")
{
    private IEnumerable<object?>? remaining = items;

    public string TypeName { get; } = typeName;

    /// <summary>The items not consumed yet; a generator walked once is empty afterwards.</summary>
    public IEnumerable<object?> Consume()
    {
        var items = remaining ?? [];
        remaining = null;
        return items;
    }
}
