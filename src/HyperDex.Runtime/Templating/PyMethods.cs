using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// The methods of Python's str, dict and list that templates call (message.get('x'), content.strip(), s.split(),
/// d.items() ...). Mutating list/dict methods exist (so lookups find them) but the immutable sandbox refuses them.
/// </summary>
internal static class PyMethods
{
    private static readonly HashSet<string> ListMutators = new(StringComparer.Ordinal)
    {
        "append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove",
    };

    private static readonly HashSet<string> DictMutators = new(StringComparer.Ordinal)
    {
        "clear", "pop", "popitem", "setdefault", "update",
    };

    public static bool IsMutating(object? target, string name) => target switch
    {
        List<object?> => ListMutators.Contains(name),
        PyDict => DictMutators.Contains(name),
        _ => false,
    };

    public static PyFunction? Get(object? target, string name) => target switch
    {
        string s => StringMethod(s, name),
        PyMarkup m => StringMethod(m.Value, name),
        PyDict d => DictMethod(d, name),
        List<object?> l => SequenceMethod(l, name),
        PyTuple t => SequenceMethod(t.Items, name),
        _ => null,
    };

    private static PyFunction Method(string name, Func<List<object?>, List<KeyValuePair<string, object?>>, object?> body) =>
        new(name, (_, args, kwargs) => body(args, kwargs));

    private static PyFunction? DictMethod(PyDict d, string name) => name switch
    {
        "get" => Method(name, (a, k) =>
        {
            var v = ArgBinder.Bind("get", a, k, ["key", "default"], (object?)null);
            return d.TryGet(v[0], out var value) ? value : v[1];
        }),
        "items" => Method(name, (a, k) => NoArgs(name, a, k, () => d.Entries.Select(e => (object?)new PyTuple([e.Key, e.Value])).ToList())),
        "keys" => Method(name, (a, k) => NoArgs(name, a, k, () => d.Keys.Cast<object?>().ToList())),
        "values" => Method(name, (a, k) => NoArgs(name, a, k, () => d.Values.ToList())),
        "copy" => Method(name, (a, k) => NoArgs(name, a, k, () =>
        {
            var copy = new PyDict();
            foreach (var (key, value) in d.Entries)
            {
                copy.Set(key, value);
            }

            return copy;
        })),
        "fromkeys" => null,
        _ => null,
    };

    private static PyFunction? SequenceMethod(IReadOnlyList<object?> items, string name) => name switch
    {
        "count" => Method(name, (a, k) => (long)items.Count(x => PyOps.Eq(x, ArgBinder.Bind("count", a, k, ["value"])[0]))),
        "index" => Method(name, (a, k) =>
        {
            var v = ArgBinder.Bind("index", a, k, ["value"]);
            for (int i = 0; i < items.Count; i++)
            {
                if (PyOps.Eq(items[i], v[0]))
                {
                    return (long)i;
                }
            }

            throw new JinjaError("ValueError", $"{PyFormat.Repr(v[0])} is not in list");
        }),
        "copy" when items is List<object?> list => Method(name, (a, k) => NoArgs(name, a, k, () => list.ToList())),
        _ => null,
    };

    private static object? NoArgs(string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs, Func<object?> body)
    {
        if (args.Count > 0 || kwargs.Count > 0)
        {
            throw JinjaError.Type($"{name}() takes no arguments ({args.Count + kwargs.Count} given)");
        }

        return body();
    }

    private static PyFunction? StringMethod(string s, string name) => name switch
    {
        "strip" => Method(name, (a, k) => Strip(s, Chars("strip", a, k), true, true)),
        "lstrip" => Method(name, (a, k) => Strip(s, Chars("lstrip", a, k), true, false)),
        "rstrip" => Method(name, (a, k) => Strip(s, Chars("rstrip", a, k), false, true)),
        "upper" => Method(name, (a, k) => NoArgs(name, a, k, () => s.ToUpperInvariant())),
        "lower" => Method(name, (a, k) => NoArgs(name, a, k, () => s.ToLowerInvariant())),
        "title" => Method(name, (a, k) => NoArgs(name, a, k, () => Title(s))),
        "capitalize" => Method(name, (a, k) => NoArgs(name, a, k, () => Capitalize(s))),
        "swapcase" => Method(name, (a, k) => NoArgs(name, a, k, () => string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))))),
        "startswith" => Method(name, (a, k) => Affix(s, ArgBinder.Bind("startswith", a, k, ["prefix"])[0], true)),
        "endswith" => Method(name, (a, k) => Affix(s, ArgBinder.Bind("endswith", a, k, ["suffix"])[0], false)),
        "split" => Method(name, (a, k) => Split(s, ArgBinder.Bind("split", a, k, ["sep", "maxsplit"], null, -1L), false)),
        "rsplit" => Method(name, (a, k) => Split(s, ArgBinder.Bind("rsplit", a, k, ["sep", "maxsplit"], null, -1L), true)),
        "splitlines" => Method(name, (a, k) => SplitLines(s, PyOps.Truthy(ArgBinder.Bind("splitlines", a, k, ["keepends"], false)[0]))),
        "replace" => Method(name, (a, k) =>
        {
            var v = ArgBinder.Bind("replace", a, k, ["old", "new", "count"], -1L);
            return Replace(s, Text(v[0]), Text(v[1]), v[2] is long n ? n : -1);
        }),
        "find" => Method(name, (a, k) => (long)IndexInCodePoints(s, s.IndexOf(Text(ArgBinder.Bind("find", a, k, ["sub"])[0]), StringComparison.Ordinal))),
        "rfind" => Method(name, (a, k) => (long)IndexInCodePoints(s, s.LastIndexOf(Text(ArgBinder.Bind("rfind", a, k, ["sub"])[0]), StringComparison.Ordinal))),
        "index" => Method(name, (a, k) =>
        {
            int at = s.IndexOf(Text(ArgBinder.Bind("index", a, k, ["sub"])[0]), StringComparison.Ordinal);
            return at < 0 ? throw new JinjaError("ValueError", "substring not found") : (long)IndexInCodePoints(s, at);
        }),
        "count" => Method(name, (a, k) => (long)CountOccurrences(s, Text(ArgBinder.Bind("count", a, k, ["sub"])[0]))),
        "join" => Method(name, (a, k) => string.Join(s, PyOps.Iterate(ArgBinder.Bind("join", a, k, ["iterable"])[0]).Select(x =>
            PyOps.AsString(x) ?? throw JinjaError.Type($"sequence item: expected str instance, {PyOps.TypeName(x)} found")))),
        "format" => Method(name, (a, k) => StrFormat.Format(s, a, k)),
        "removeprefix" => Method(name, (a, k) =>
        {
            string p = Text(ArgBinder.Bind("removeprefix", a, k, ["prefix"])[0]);
            return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
        }),
        "removesuffix" => Method(name, (a, k) =>
        {
            string p = Text(ArgBinder.Bind("removesuffix", a, k, ["suffix"])[0]);
            return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s;
        }),
        "partition" => Method(name, (a, k) => Partition(s, Text(ArgBinder.Bind("partition", a, k, ["sep"])[0]), false)),
        "rpartition" => Method(name, (a, k) => Partition(s, Text(ArgBinder.Bind("rpartition", a, k, ["sep"])[0]), true)),
        "zfill" => Method(name, (a, k) =>
        {
            long width = PyOps.ToLong(ArgBinder.Bind("zfill", a, k, ["width"])[0]);
            int pad = (int)Math.Max(0, width - PyOps.CodePointLength(s));
            return s.Length > 0 && s[0] is '+' or '-' ? s[0] + new string('0', pad) + s[1..] : new string('0', pad) + s;
        }),
        "center" or "ljust" or "rjust" => Method(name, (a, k) =>
        {
            var v = ArgBinder.Bind(name, a, k, ["width", "fillchar"], " ");
            int pad = (int)Math.Max(0, PyOps.ToLong(v[0]) - PyOps.CodePointLength(s));
            string fill = Text(v[1]);
            return name switch
            {
                "ljust" => s + string.Concat(Enumerable.Repeat(fill, pad)),
                "rjust" => string.Concat(Enumerable.Repeat(fill, pad)) + s,
                _ => Center(s, fill, pad, PyOps.ToLong(v[0])),
            };
        }),
        "isdigit" or "isdecimal" or "isnumeric" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Length > 0 && s.All(char.IsDigit))),
        "isalpha" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Length > 0 && s.All(char.IsLetter))),
        "isalnum" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Length > 0 && s.All(char.IsLetterOrDigit))),
        "isspace" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Length > 0 && s.All(JinjaLexer.IsSpace))),
        "isupper" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Any(char.IsLetter) && !s.Any(char.IsLower))),
        "islower" => Method(name, (a, k) => NoArgs(name, a, k, () => s.Any(char.IsLetter) && !s.Any(char.IsUpper))),
        _ => null,
    };

    public static string Text(object? value) =>
        PyOps.AsString(value) ?? throw JinjaError.Type($"must be str, not {PyOps.TypeName(value)}");

    private static string? Chars(string name, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var v = ArgBinder.Bind(name, args, kwargs, ["chars"], (object?)null);
        return v[0] is null ? null : Text(v[0]);
    }

    /// <summary>str.strip: whitespace (Python's definition) or any of <paramref name="chars"/>.</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        Func<char, bool> strip = chars is null ? JinjaLexer.IsSpace : chars.Contains;
        int start = 0, end = s.Length;
        while (left && start < end && strip(s[start]))
        {
            start++;
        }

        while (right && end > start && strip(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    private static bool Affix(string s, object? affix, bool prefix)
    {
        IEnumerable<object?> candidates = affix is PyTuple t ? t.Items : [affix];
        return candidates.Any(c => prefix
            ? s.StartsWith(Text(c), StringComparison.Ordinal)
            : s.EndsWith(Text(c), StringComparison.Ordinal));
    }

    private static List<object?> Split(string s, object?[] v, bool fromRight)
    {
        long max = v[1] is long m ? m : -1;
        if (v[0] is null)
        {
            return SplitWhitespace(s, max, fromRight);
        }

        string sep = Text(v[0]);
        if (sep.Length == 0)
        {
            throw new JinjaError("ValueError", "empty separator");
        }

        if (max < 0)
        {
            return s.Split(sep).Cast<object?>().ToList();
        }

        if (!fromRight)
        {
            return s.Split(sep, (int)Math.Min(max + 1, int.MaxValue)).Cast<object?>().ToList();
        }

        var parts = new List<object?>();
        int end = s.Length;
        while (parts.Count < max)
        {
            int at = end == 0 ? -1 : s.LastIndexOf(sep, end - 1, StringComparison.Ordinal);
            if (at < 0 || at + sep.Length > end)
            {
                break;
            }

            parts.Insert(0, s[(at + sep.Length)..end]);
            end = at;
        }

        parts.Insert(0, s[..end]);
        return parts;
    }

    private static List<object?> SplitWhitespace(string s, long max, bool fromRight)
    {
        var words = new List<object?>();
        if (!fromRight)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && JinjaLexer.IsSpace(s[i]))
                {
                    i++;
                }

                if (i >= s.Length)
                {
                    break;
                }

                if (max >= 0 && words.Count == max)
                {
                    words.Add(JinjaLexer.RStrip(s[i..]));
                    break;
                }

                int start = i;
                while (i < s.Length && !JinjaLexer.IsSpace(s[i]))
                {
                    i++;
                }

                words.Add(s[start..i]);
            }

            return words;
        }

        int j = s.Length;
        while (true)
        {
            while (j > 0 && JinjaLexer.IsSpace(s[j - 1]))
            {
                j--;
            }

            if (j == 0)
            {
                break;
            }

            if (max >= 0 && words.Count == max)
            {
                words.Insert(0, Strip(s[..j], null, true, false));
                break;
            }

            int end = j;
            while (j > 0 && !JinjaLexer.IsSpace(s[j - 1]))
            {
                j--;
            }

            words.Insert(0, s[j..end]);
        }

        return words;
    }

    /// <summary>str.splitlines: every Python line boundary.</summary>
    public static List<object?> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<object?>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                int end = i;
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                {
                    i++;
                }

                lines.Add(keepEnds ? s[start..(i + 1)] : s[start..end]);
                start = i + 1;
            }
        }

        if (start < s.Length)
        {
            lines.Add(s[start..]);
        }

        return lines;
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0)
        {
            if (old.Length == 0)
            {
                var sb = new StringBuilder(replacement);
                foreach (var c in PyOps.Characters(s))
                {
                    sb.Append((string)c!).Append(replacement);
                }

                return sb.ToString();
            }

            return s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var result = new StringBuilder();
        int position = 0;
        for (long n = 0; n < count; n++)
        {
            int at = old.Length == 0 ? (position <= s.Length ? position : -1) : s.IndexOf(old, position, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            result.Append(s, position, at - position).Append(replacement);
            if (old.Length == 0)
            {
                if (at < s.Length)
                {
                    result.Append(s[at]);
                }

                position = at + 1;
            }
            else
            {
                position = at + old.Length;
            }
        }

        if (position < s.Length)
        {
            result.Append(s, position, s.Length - position);
        }

        return result.ToString();
    }

    private static int IndexInCodePoints(string s, int utf16Index) =>
        utf16Index < 0 ? -1 : PyOps.CodePointLength(s[..utf16Index]);

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0)
        {
            return PyOps.CodePointLength(s) + 1;
        }

        int n = 0;
        for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static PyTuple Partition(string s, string sep, bool fromRight)
    {
        int at = fromRight ? s.LastIndexOf(sep, StringComparison.Ordinal) : s.IndexOf(sep, StringComparison.Ordinal);
        if (at < 0)
        {
            return fromRight ? new PyTuple(["", "", s]) : new PyTuple([s, "", ""]);
        }

        return new PyTuple([s[..at], sep, s[(at + sep.Length)..]]);
    }

    /// <summary>str.title: upper-case the first cased letter after every uncased character, lower-case the rest.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter;
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }

        return sb.ToString();
    }

    private static string Center(string s, string fill, int pad, long width)
    {
        int left = (pad / 2) + (int)(pad & width & 1);
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, pad - left));
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();
}
