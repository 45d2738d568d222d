using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>Python's operators and protocols (truth, ==, &lt;, +, len, iter, in) over the template value model.</summary>
internal static class PyOps
{
    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        PyMarkup => "Markup",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyRange => "range",
        PyGenerator g => g.TypeName,
        JinjaUndefined => "Undefined",
        JinjaNamespace => "Namespace",
        LoopContext => "LoopContext",
        Macro => "Macro",
        PyCallable c => c.TypeName,
        _ => "object",
    };

    public static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        PyMarkup m => m.Value.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Items.Count > 0,
        PyDict d => d.Count > 0,
        PyRange r => r.Count > 0,
        JinjaUndefined => false,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is bool or long or double;

    public static bool IsString(object? v) => v is string or PyMarkup;

    public static string? AsString(object? v) => v switch
    {
        string s => s,
        PyMarkup m => m.Value,
        _ => null,
    };

    public static double ToDouble(object? v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        double d => d,
        _ => throw new InvalidOperationException("not a number"),
    };

    public static long ToLong(object? v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        _ => throw new InvalidOperationException("not an integer"),
    };

    public static bool Eq(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return a is double || b is double ? ToDouble(a) == ToDouble(b) : ToLong(a) == ToLong(b);
        }

        if (AsString(a) is { } sa && AsString(b) is { } sb)
        {
            return string.Equals(sa, sb, StringComparison.Ordinal);
        }

        return (a, b) switch
        {
            (null, null) => true,
            (JinjaUndefined, JinjaUndefined) => true,
            (List<object?> x, List<object?> y) => SequenceEq(x, y),
            (PyTuple x, PyTuple y) => SequenceEq(x.Items, y.Items),
            (PyDict x, PyDict y) => x.Count == y.Count && x.Entries.All(e => y.TryGet(e.Key, out var v) && Eq(e.Value, v)),
            (PyRange x, PyRange y) => SequenceEq(x.Items().ToList(), y.Items().ToList()),
            _ => ReferenceEquals(a, b),
        };
    }

    private static bool SequenceEq(IReadOnlyList<object?> x, IReadOnlyList<object?> y)
    {
        if (x.Count != y.Count)
        {
            return false;
        }

        for (int i = 0; i < x.Count; i++)
        {
            if (!Eq(x[i], y[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Ordering as Python's &lt;: numbers, strings (by code point), and sequences element by element.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (a is JinjaUndefined ua)
        {
            throw ua.Fail();
        }

        if (b is JinjaUndefined ub)
        {
            throw ub.Fail();
        }

        if (IsNumber(a) && IsNumber(b))
        {
            return a is double || b is double ? ToDouble(a).CompareTo(ToDouble(b)) : ToLong(a).CompareTo(ToLong(b));
        }

        if (AsString(a) is { } sa && AsString(b) is { } sb)
        {
            return CompareCodePoints(sa, sb);
        }

        IReadOnlyList<object?>? la = a switch { List<object?> l => l, PyTuple t => t.Items, _ => null };
        IReadOnlyList<object?>? lb = b switch { List<object?> l => l, PyTuple t => t.Items, _ => null };
        if (la is not null && lb is not null && a!.GetType() == b!.GetType())
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (!Eq(la[i], lb[i]))
                {
                    return Compare(la[i], lb[i], op);
                }
            }

            return la.Count.CompareTo(lb.Count);
        }

        throw JinjaError.Type($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static int CompareCodePoints(string a, string b)
    {
        // Ordinal UTF-16 order differs from code point order only around surrogates; compare runes to be exact.
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext();
            bool hb = eb.MoveNext();
            if (!ha || !hb)
            {
                return ha ? 1 : hb ? -1 : 0;
            }

            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }

    public static object? Add(object? a, object? b)
    {
        FailUndefined(a, b);
        if (IsNumber(a) && IsNumber(b))
        {
            return a is double || b is double ? (object)(ToDouble(a) + ToDouble(b)) : CheckedInt(() => checked(ToLong(a) + ToLong(b)));
        }

        if (a is PyMarkup ma && AsString(b) is { } sb2)
        {
            return new PyMarkup(ma.Value + (b is PyMarkup ? sb2 : PyMarkup.Escape(sb2)));
        }

        if (b is PyMarkup mb && a is string sa2)
        {
            return new PyMarkup(PyMarkup.Escape(sa2) + mb.Value);
        }

        return (a, b) switch
        {
            (string x, string y) => x + y,
            (List<object?> x, List<object?> y) => x.Concat(y).ToList(),
            (PyTuple x, PyTuple y) => new PyTuple(x.Items.Concat(y.Items).ToList()),
            (string, _) => throw JinjaError.Type($"can only concatenate str (not \"{TypeName(b)}\") to str"),
            (List<object?>, _) => throw JinjaError.Type($"can only concatenate list (not \"{TypeName(b)}\") to list"),
            (PyTuple, _) => throw JinjaError.Type($"can only concatenate tuple (not \"{TypeName(b)}\") to tuple"),
            _ => throw Unsupported("+", a, b),
        };
    }

    public static object? Arithmetic(string op, object? a, object? b)
    {
        FailUndefined(a, b);
        if (op == "*")
        {
            if (AsString(a) is { } s && b is long or bool)
            {
                return Repeat(s, ToLong(b));
            }

            if (AsString(b) is { } s2 && a is long or bool)
            {
                return Repeat(s2, ToLong(a));
            }

            if (a is List<object?> l && b is long or bool)
            {
                return Enumerable.Range(0, (int)Math.Clamp(ToLong(b), 0, JinjaLimits.MaxOutputChars)).SelectMany(_ => l).ToList();
            }
        }

        if (op == "%" && AsString(a) is { } format)
        {
            return PrintfFormat.Format(format, b);
        }

        if (!IsNumber(a) || !IsNumber(b))
        {
            throw Unsupported(op, a, b);
        }

        bool isFloat = a is double || b is double;
        switch (op)
        {
            case "-":
                return isFloat ? (object)(ToDouble(a) - ToDouble(b)) : CheckedInt(() => checked(ToLong(a) - ToLong(b)));
            case "*":
                return isFloat ? (object)(ToDouble(a) * ToDouble(b)) : CheckedInt(() => checked(ToLong(a) * ToLong(b)));
            case "/":
                if (ToDouble(b) == 0)
                {
                    throw new JinjaError("ZeroDivisionError", "division by zero");
                }

                return ToDouble(a) / ToDouble(b);
            case "//":
                if (ToDouble(b) == 0)
                {
                    throw new JinjaError("ZeroDivisionError", isFloat ? "float floor division by zero" : "integer division or modulo by zero");
                }

                if (isFloat)
                {
                    return Math.Floor(ToDouble(a) / ToDouble(b));
                }

                long q = ToLong(a) / ToLong(b);
                return (ToLong(a) % ToLong(b) != 0) && ((ToLong(a) < 0) ^ (ToLong(b) < 0)) ? (object)(q - 1) : q;
            case "%":
                if (ToDouble(b) == 0)
                {
                    throw new JinjaError("ZeroDivisionError", isFloat ? "float modulo" : "integer modulo by zero");
                }

                if (isFloat)
                {
                    double x = ToDouble(a), y = ToDouble(b);
                    double r = x % y;
                    return r != 0 && (r < 0) != (y < 0) ? (object)(r + y) : r;
                }

                long m = ToLong(a) % ToLong(b);
                return m != 0 && (m < 0) != (ToLong(b) < 0) ? (object)(m + ToLong(b)) : m;
            case "**":
                if (!isFloat && ToLong(b) >= 0)
                {
                    return CheckedInt(() =>
                    {
                        long result = 1, baseValue = ToLong(a);
                        for (long i = 0; i < ToLong(b); i++)
                        {
                            result = checked(result * baseValue);
                        }

                        return result;
                    });
                }

                return Math.Pow(ToDouble(a), ToDouble(b));
            default:
                throw Unsupported(op, a, b);
        }
    }

    private static string Repeat(string s, long times)
    {
        if (times <= 0)
        {
            return string.Empty;
        }

        if (s.Length * times > JinjaLimits.MaxOutputChars)
        {
            throw new JinjaError("MemoryError", "the repeated string is larger than the renderer allows");
        }

        return new StringBuilder().Insert(0, s, (int)times).ToString();
    }

    private static long CheckedInt(Func<long> compute)
    {
        try
        {
            return compute();
        }
        catch (OverflowException)
        {
            throw new JinjaError("OverflowError", "integer result too large for this renderer (64-bit)");
        }
    }

    private static void FailUndefined(object? a, object? b)
    {
        if (a is JinjaUndefined ua)
        {
            throw ua.Fail();
        }

        if (b is JinjaUndefined ub)
        {
            throw ub.Fail();
        }
    }

    private static JinjaError Unsupported(string op, object? a, object? b) =>
        JinjaError.Type($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");

    public static object? Negate(object? v) => v switch
    {
        JinjaUndefined u => throw u.Fail(),
        bool or long => (object)(-ToLong(v)),
        double d => -d,
        _ => throw JinjaError.Type($"bad operand type for unary -: '{TypeName(v)}'"),
    };

    /// <summary>The items a for loop (or list()) walks: list items, dict keys, characters; Undefined is empty.</summary>
    public static IEnumerable<object?> Iterate(object? value) => value switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        PyDict d => d.Keys,
        string s => Characters(s),
        PyMarkup m => Characters(m.Value),
        PyRange r => r.Items(),
        PyGenerator g => g.Consume(),
        JinjaUndefined => [],
        LoopContext => throw JinjaError.Type("'LoopContext' object is not iterable"),
        _ => throw JinjaError.Type($"'{TypeName(value)}' object is not iterable"),
    };

    /// <summary>A string's characters as Python sees them: code points, not UTF-16 units.</summary>
    public static IEnumerable<object?> Characters(string s)
    {
        foreach (var rune in s.EnumerateRunes())
        {
            yield return rune.ToString();
        }
    }

    public static List<object?> ToList(object? value) => Iterate(value).ToList();

    public static long Len(object? value) => value switch
    {
        string s => CodePointLength(s),
        PyMarkup m => CodePointLength(m.Value),
        List<object?> l => l.Count,
        PyTuple t => t.Items.Count,
        PyDict d => d.Count,
        PyRange r => r.Count,
        JinjaUndefined => 0,
        _ => throw JinjaError.Type($"object of type '{TypeName(value)}' has no len()"),
    };

    public static int CodePointLength(string s)
    {
        int n = 0;
        foreach (var _ in s.EnumerateRunes())
        {
            n++;
        }

        return n;
    }

    /// <summary>Python's <c>item in container</c>.</summary>
    public static bool Contains(object? container, object? item)
    {
        if (AsString(container) is { } s)
        {
            return AsString(item) is { } needle
                ? s.Contains(needle, StringComparison.Ordinal)
                : throw JinjaError.Type($"'in <string>' requires string as left operand, not {TypeName(item)}");
        }

        return container switch
        {
            PyDict d => d.ContainsKey(item),
            JinjaUndefined => false,
            List<object?> or PyTuple or PyRange => Iterate(container).Any(x => Eq(x, item)),
            _ => throw JinjaError.Type($"argument of type '{TypeName(container)}' is not iterable"),
        };
    }
}
