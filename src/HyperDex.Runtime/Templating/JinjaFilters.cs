using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// Jinja2's built-in filters (filters.py) with transformers' tojson in place of Jinja's. Each keeps Jinja's
/// parameter names and defaults, and returns what Jinja returns (a generator where Jinja yields).
/// </summary>
internal static partial class JinjaFilters
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "forceescape", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
        "min", "pprint", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort",
        "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
    };

    public static bool Exists(string name) => Names.Contains(name);

    public static object? Apply(JinjaEvaluator evaluator, string name, object? value, List<object?> args,
        List<KeyValuePair<string, object?>> kwargs)
    {
        object?[] Bind(string[] names, params object?[] defaults) => ArgBinder.Bind(name, args, kwargs, names, defaults);
        switch (name)
        {
            case "abs":
                Bind([]);
                return value switch
                {
                    long l => (object)Math.Abs(l),
                    bool b => b ? 1L : 0L,
                    double d => Math.Abs(d),
                    JinjaUndefined u => throw u.Fail(),
                    _ => throw JinjaError.Type($"bad operand type for abs(): '{PyOps.TypeName(value)}'"),
                };
            case "attr":
                return JinjaAccess.GetAttribute(value, PyMethods.Text(Bind(["name"])[0]));
            case "batch":
                return Batch(value, Bind(["linecount", "fill_with"], (object?)null));
            case "capitalize":
                Bind([]);
                return PyMethods.Capitalize(PyFormat.Str(value));
            case "center":
                var centerArgs = Bind(["width"], 80L);
                return PyMethods.Get(PyFormat.Str(value), "center")!.Call(evaluator, [centerArgs[0]], []);
            case "count" or "length":
                Bind([]);
                return PyOps.Len(value);
            case "d" or "default":
                var defaultArgs = Bind(["default_value", "boolean"], "", false);
                return value is JinjaUndefined || (PyOps.Truthy(defaultArgs[1]) && !PyOps.Truthy(value)) ? defaultArgs[0] : value;
            case "dictsort":
                return DictSort(value, Bind(["case_sensitive", "by", "reverse"], false, "key", false));
            case "e" or "escape" or "forceescape":
                Bind([]);
                return value is PyMarkup && name != "forceescape" ? value : new PyMarkup(PyMarkup.Escape(PyFormat.Str(value)));
            case "first":
                Bind([]);
                var firstItem = PyOps.Iterate(value).Take(1).ToList();
                return firstItem.Count > 0 ? firstItem[0] : new JinjaUndefined(null, "No first item, sequence was empty.");
            case "last":
                Bind([]);
                if (value is PyGenerator)
                {
                    throw JinjaError.Type("'generator' object is not reversible");
                }

                var all = PyOps.ToList(value);
                return all.Count > 0 ? all[^1] : new JinjaUndefined(null, "No last item, sequence was empty.");
            case "float":
                return ToFloat(value, Bind(["default"], 0.0)[0]);
            case "format":
                return PrintfFormat.Format(PyFormat.Str(value), kwargs.Count > 0 ? KwargsDict(kwargs) : new PyTuple(args));
            case "groupby":
                return GroupBy(value, Bind(["attribute", "default", "case_sensitive"], null, false));
            case "indent":
                return Indent(PyFormat.Str(value), Bind(["width", "first", "blank"], 4L, false, false));
            case "int":
                return ToInt(value, Bind(["default", "base"], 0L, 10L));
            case "items":
                Bind([]);
                return value switch
                {
                    JinjaUndefined => new PyGenerator([]),
                    PyDict d => new PyGenerator(d.Entries.Select(e => (object?)new PyTuple([e.Key, e.Value])).ToList()),
                    _ => throw JinjaError.Type("Can only get item pairs from a mapping."),
                };
            case "join":
                var joinArgs = Bind(["d", "attribute"], "", null);
                var joined = PyOps.Iterate(value);
                if (joinArgs[1] is not null)
                {
                    var getter = AttributeGetter(joinArgs[1], null);
                    joined = joined.Select(getter).ToList();
                }

                return string.Join(PyFormat.Str(joinArgs[0]), joined.Select(PyFormat.Str));
            case "list":
                Bind([]);
                return PyOps.ToList(value);
            case "lower":
                Bind([]);
                return PyFormat.Str(value).ToLowerInvariant();
            case "upper":
                Bind([]);
                return PyFormat.Str(value).ToUpperInvariant();
            case "map":
                return Map(evaluator, value, args, kwargs);
            case "max" or "min":
                return MinMax(value, name == "max", Bind(["case_sensitive", "attribute"], false, null));
            case "pprint":
                Bind([]);
                return PyFormat.Repr(value);
            case "select" or "reject" or "selectattr" or "rejectattr":
                return SelectOrReject(evaluator, value, args, kwargs, name.StartsWith("select", StringComparison.Ordinal), name.EndsWith("attr", StringComparison.Ordinal));
            case "replace":
                var replaceArgs = Bind(["old", "new", "count"], (object?)null);
                return PyMethods.Replace(PyFormat.Str(value), PyFormat.Str(replaceArgs[0]), PyFormat.Str(replaceArgs[1]),
                    replaceArgs[2] is null ? -1 : PyOps.ToLong(replaceArgs[2]));
            case "reverse":
                Bind([]);
                if (PyOps.AsString(value) is { } text)
                {
                    return string.Concat(PyOps.Characters(text).Reverse());
                }

                var reversed = PyOps.ToList(value);
                reversed.Reverse();
                return new PyGenerator(reversed, "list_reverseiterator");
            case "round":
                return Round(value, Bind(["precision", "method"], 0L, "common"));
            case "safe":
                Bind([]);
                return value as PyMarkup ?? new PyMarkup(PyFormat.Str(value));
            case "slice":
                return SliceFilter(value, Bind(["slices", "fill_with"], (object?)null));
            case "sort":
                return Sort(value, Bind(["reverse", "case_sensitive", "attribute"], false, false, null));
            case "string":
                Bind([]);
                return value is PyMarkup ? value : PyFormat.Str(value);
            case "striptags":
                Bind([]);
                string stripped = TagPattern().Replace(CommentPattern().Replace(PyFormat.Str(value), string.Empty), string.Empty);
                return string.Join(' ', PyMethods.SplitLines(stripped, false).SelectMany(l => ((string)l!).Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                    .Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal);
            case "sum":
                return Sum(value, Bind(["attribute", "start"], null, 0L));
            case "title":
                Bind([]);
                return Title(PyFormat.Str(value));
            case "tojson":
                var json = Bind(["ensure_ascii", "indent", "separators", "sort_keys"], false, null, null, false);
                return JsonDump.Dumps(value, PyOps.Truthy(json[0]), json[1], json[2], PyOps.Truthy(json[3]));
            case "trim":
                var trimArgs = Bind(["chars"], (object?)null);
                return PyMethods.Strip(PyFormat.Str(value), trimArgs[0] is null ? null : PyFormat.Str(trimArgs[0]), true, true);
            case "truncate":
                return Truncate(PyFormat.Str(value), Bind(["length", "killwords", "end", "leeway"], 255L, false, "...", 5L));
            case "unique":
                return Unique(value, Bind(["case_sensitive", "attribute"], false, null));
            case "wordcount":
                Bind([]);
                return (long)WordPattern().Count(PyFormat.Str(value));
            default:
                throw JinjaError.Runtime($"No filter named '{name}' found.");
        }
    }

    private static PyDict KwargsDict(List<KeyValuePair<string, object?>> kwargs)
    {
        var dict = new PyDict();
        foreach (var (key, value) in kwargs)
        {
            dict.Set(key, value);
        }

        return dict;
    }

    /// <summary>Jinja's make_attrgetter: "a.b.0" looked up part by part with getitem; integer parts as integers.</summary>
    private static Func<object?, object?> AttributeGetter(object? attribute, Func<object?, object?>? postprocess, object? fallback = null)
    {
        var parts = attribute is string s
            ? s.Split('.').Select(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? (object?)n : p).ToList()
            : attribute is null ? [] : [attribute];
        return item =>
        {
            foreach (var part in parts)
            {
                item = JinjaAccess.GetItem(item, part);
                if (fallback is not null && item is JinjaUndefined)
                {
                    item = fallback;
                }
            }

            return postprocess is null ? item : postprocess(item);
        };
    }

    private static object? IgnoreCase(object? value) => PyOps.AsString(value) is { } s ? s.ToLowerInvariant() : value;

    private static readonly Comparer<object?> PythonOrder = Comparer<object?>.Create((a, b) => PyOps.Compare(a, b, "<"));

    private static PyGenerator Map(JinjaEvaluator evaluator, object? value, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        if (!PyOps.Truthy(value))
        {
            return new PyGenerator([]);
        }

        var items = PyOps.ToList(value);
        Func<object?, object?> func;
        if (args.Count == 0 && kwargs.Any(k => k.Key == "attribute"))
        {
            var attribute = kwargs.First(k => k.Key == "attribute").Value;
            var fallback = kwargs.FirstOrDefault(k => k.Key == "default").Value;
            if (kwargs.Any(k => k.Key is not ("attribute" or "default")))
            {
                throw new JinjaError("FilterArgumentError", "Unexpected keyword argument " + PyFormat.Repr(kwargs.First(k => k.Key is not ("attribute" or "default")).Key));
            }

            func = AttributeGetter(attribute, null, fallback);
        }
        else
        {
            if (args.Count == 0)
            {
                throw new JinjaError("FilterArgumentError", "map requires a filter argument");
            }

            string filter = PyMethods.Text(args[0]);
            var rest = args.Skip(1).ToList();
            func = item => Apply(evaluator, filter, item, rest, kwargs);
        }

        return new PyGenerator(items.Select(func).ToList());
    }

    private static PyGenerator SelectOrReject(JinjaEvaluator evaluator, object? value, List<object?> args,
        List<KeyValuePair<string, object?>> kwargs, bool select, bool byAttribute)
    {
        if (!PyOps.Truthy(value))
        {
            return new PyGenerator([]);
        }

        Func<object?, object?> transform = x => x;
        int offset = 0;
        if (byAttribute)
        {
            if (args.Count == 0)
            {
                throw new JinjaError("FilterArgumentError", "Missing parameter for attribute name");
            }

            transform = AttributeGetter(args[0], null);
            offset = 1;
        }

        Func<object?, bool> test = args.Count > offset
            ? item => JinjaTests.Apply(evaluator, PyMethods.Text(args[offset]), item, args.Skip(offset + 1).ToList(), kwargs)
            : PyOps.Truthy;
        return new PyGenerator(PyOps.ToList(value).Where(item => test(transform(item)) == select).ToList());
    }

    private static List<object?> DictSort(object? value, object?[] a)
    {
        if (value is not PyDict dict)
        {
            throw JinjaError.Type("dictsort filter requires a mapping");
        }

        int position = PyFormat.Str(a[1]) switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new JinjaError("FilterArgumentError", "You can only sort by either \"key\" or \"value\""),
        };
        bool caseSensitive = PyOps.Truthy(a[0]);
        var pairs = dict.Entries.Select(e => new PyTuple([e.Key, e.Value])).ToList();
        Func<PyTuple, object?> key = p => caseSensitive ? p.Items[position] : IgnoreCase(p.Items[position]);
        var sorted = PyOps.Truthy(a[2]) ? pairs.OrderByDescending(key, PythonOrder) : pairs.OrderBy(key, PythonOrder);
        return sorted.Cast<object?>().ToList();
    }

    private static List<object?> Sort(object? value, object?[] a)
    {
        var items = PyOps.ToList(value);
        var key = AttributeGetter(a[2], PyOps.Truthy(a[1]) ? null : IgnoreCase);
        return (PyOps.Truthy(a[0]) ? items.OrderByDescending(key, PythonOrder) : items.OrderBy(key, PythonOrder)).ToList();
    }

    private static PyGenerator Unique(object? value, object?[] a)
    {
        var key = AttributeGetter(a[1], PyOps.Truthy(a[0]) ? null : IgnoreCase);
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in PyOps.Iterate(value))
        {
            var k = key(item);
            if (!seen.Any(s => PyOps.Eq(s, k)))
            {
                seen.Add(k);
                result.Add(item);
            }
        }

        return new PyGenerator(result);
    }

    private static object? MinMax(object? value, bool max, object?[] a)
    {
        var items = PyOps.ToList(value);
        if (items.Count == 0)
        {
            return new JinjaUndefined(null, "No aggregated item, sequence was empty.");
        }

        var key = AttributeGetter(a[1], PyOps.Truthy(a[0]) ? null : IgnoreCase);
        var best = items[0];
        foreach (var item in items.Skip(1))
        {
            int c = PyOps.Compare(key(item), key(best), max ? ">" : "<");
            if (max ? c > 0 : c < 0)
            {
                best = item;
            }
        }

        return best;
    }

    private static object? Sum(object? value, object?[] a)
    {
        var items = PyOps.Iterate(value);
        if (a[0] is not null)
        {
            items = items.Select(AttributeGetter(a[0], null)).ToList();
        }

        object? total = a[1];
        foreach (var item in items)
        {
            total = PyOps.Add(total, item);
        }

        return total;
    }

    private static List<object?> GroupBy(object? value, object?[] a)
    {
        var key = AttributeGetter(a[0], PyOps.Truthy(a[2]) ? null : IgnoreCase, a[1]);
        var sorted = PyOps.ToList(value).OrderBy(key, PythonOrder).ToList();
        var groups = new List<object?>();
        foreach (var item in sorted)
        {
            var k = key(item);
            if (groups.Count > 0 && groups[^1] is PyTuple last && PyOps.Eq(last.Items[0], k))
            {
                ((List<object?>)last.Items[1]!).Add(item);
            }
            else
            {
                groups.Add(new PyTuple([k, new List<object?> { item }]));
            }
        }

        return groups;
    }

    private static PyGenerator Batch(object? value, object?[] a)
    {
        long size = PyOps.ToLong(a[0]);
        if (size <= 0)
        {
            throw new JinjaError("ValueError", "batch size must be positive");
        }

        var batches = new List<object?>();
        var current = new List<object?>();
        foreach (var item in PyOps.Iterate(value))
        {
            current.Add(item);
            if (current.Count == size)
            {
                batches.Add(current);
                current = [];
            }
        }

        if (current.Count > 0)
        {
            while (a[1] is not null && current.Count < size)
            {
                current.Add(a[1]);
            }

            batches.Add(current);
        }

        return new PyGenerator(batches);
    }

    private static PyGenerator SliceFilter(object? value, object?[] a)
    {
        var seq = PyOps.ToList(value);
        long slices = PyOps.ToLong(a[0]);
        if (slices <= 0)
        {
            throw new JinjaError("ValueError", "the number of slices must be positive");
        }

        int perSlice = (int)(seq.Count / slices);
        int withExtra = (int)(seq.Count % slices);
        int offset = 0;
        var result = new List<object?>();
        for (int i = 0; i < slices; i++)
        {
            int start = offset + (i * perSlice);
            if (i < withExtra)
            {
                offset++;
            }

            int end = offset + ((i + 1) * perSlice);
            var part = seq.GetRange(start, end - start);
            if (a[1] is not null && i >= withExtra)
            {
                part.Add(a[1]);
            }

            result.Add(part);
        }

        return new PyGenerator(result);
    }

    private static string Indent(string s, object?[] a)
    {
        string indentation = a[0] is string w ? w : new string(' ', (int)Math.Clamp(PyOps.ToLong(a[0]), 0, 1024));
        s += "\n";
        var lines = PyMethods.SplitLines(s, false).Cast<string>().ToList();
        string result;
        if (PyOps.Truthy(a[2]))
        {
            result = string.Join("\n" + indentation, lines);
        }
        else
        {
            result = lines[0];
            if (lines.Count > 1)
            {
                result += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indentation + l : l));
            }
        }

        return PyOps.Truthy(a[1]) ? indentation + result : result;
    }

    private static object? ToInt(object? value, object?[] a)
    {
        switch (value)
        {
            case bool or long:
                return PyOps.ToLong(value);
            case double d when !double.IsNaN(d) && !double.IsInfinity(d):
                return (long)Math.Truncate(d);
        }

        if (PyOps.AsString(value) is { } s)
        {
            string text = PyMethods.Strip(s, null, true, true).Replace("_", string.Empty, StringComparison.Ordinal);
            long numberBase = PyOps.ToLong(a[1]);
            try
            {
                if (numberBase == 10 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                {
                    return n;
                }

                if (numberBase is 2 or 8 or 16)
                {
                    string digits = text.ToLowerInvariant();
                    string prefix = numberBase switch { 2 => "0b", 8 => "0o", _ => "0x" };
                    digits = digits.StartsWith(prefix, StringComparison.Ordinal) ? digits[2..] : digits;
                    return Convert.ToInt64(digits, (int)numberBase);
                }
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                return a[0];
            }

            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && !double.IsInfinity(f) && !double.IsNaN(f)
                ? (long)Math.Truncate(f)
                : a[0];
        }

        return a[0];
    }

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        bool or long or double => PyOps.ToDouble(value),
        _ when PyOps.AsString(value) is { } s && double.TryParse(PyMethods.Strip(s, null, true, true), NumberStyles.Float,
            CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };

    private static object? Round(object? value, object?[] a)
    {
        string method = PyFormat.Str(a[1]);
        if (method is not ("common" or "ceil" or "floor"))
        {
            throw new JinjaError("FilterArgumentError", "method must be common, ceil or floor");
        }

        double number = PyOps.IsNumber(value) ? PyOps.ToDouble(value) : throw JinjaError.Type($"type {PyOps.TypeName(value)} doesn't define __round__ method");
        int precision = (int)PyOps.ToLong(a[0]);
        double factor = Math.Pow(10, precision);
        double result = method switch
        {
            "ceil" => Math.Ceiling(number * factor) / factor,
            "floor" => Math.Floor(number * factor) / factor,
            _ => Math.Round(number, Math.Clamp(precision, 0, 15), MidpointRounding.ToEven),
        };
        return value is long or bool && method == "common" && precision >= 0 ? (object)PyOps.ToLong(value) : result;
    }

    private static string Truncate(string s, object?[] a)
    {
        long length = PyOps.ToLong(a[0]);
        string end = PyFormat.Str(a[2]);
        long leeway = PyOps.ToLong(a[3]);
        if (length < end.Length)
        {
            throw new JinjaError("AssertionError", $"expected length >= {end.Length}, got {length}");
        }

        if (leeway < 0)
        {
            throw new JinjaError("AssertionError", $"expected leeway >= 0, got {leeway}");
        }

        if (s.Length <= length + leeway)
        {
            return s;
        }

        if (PyOps.Truthy(a[1]))
        {
            return s[..(int)(length - end.Length)] + end;
        }

        string cut = s[..(int)(length - end.Length)];
        int space = cut.LastIndexOf(' ');
        return (space < 0 ? string.Empty : cut[..space]) + end;
    }

    /// <summary>Jinja's title filter: each word (split at '-', whitespace and opening brackets) capitalised.</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder();
        foreach (string item in WordBeginning().Split(s))
        {
            if (item.Length > 0)
            {
                sb.Append(char.ToUpperInvariant(item[0])).Append(item[1..].ToLowerInvariant());
            }
        }

        return sb.ToString();
    }

    [GeneratedRegex(@"([-\s\(\{\[\<]+)")]
    private static partial Regex WordBeginning();

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex CommentPattern();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex TagPattern();
}
