using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// Python's json.dumps as transformers' tojson filter calls it: ensure_ascii off by default (non-ASCII kept), indent,
/// separators and sort_keys; floats as Python writes them.
/// </summary>
internal static class JsonDump
{
    public static string Dumps(object? value, bool ensureAscii, object? indent, object? separators, bool sortKeys)
    {
        string? indentText = indent switch
        {
            null => null,
            long n => new string(' ', (int)Math.Clamp(n, 0, 64)),
            bool b => new string(' ', b ? 1 : 0),
            string s => s,
            _ => throw JinjaError.Type($"indent must be an int or str, not {PyOps.TypeName(indent)}"),
        };
        string itemSeparator = indentText is null ? ", " : ",";
        string keySeparator = ": ";
        if (separators is not null)
        {
            var pair = PyOps.ToList(separators);
            if (pair.Count != 2)
            {
                throw new JinjaError("ValueError", "separators must be an (item_separator, key_separator) pair");
            }

            itemSeparator = PyMethods.Text(pair[0]);
            keySeparator = PyMethods.Text(pair[1]);
        }

        var sb = new StringBuilder();
        Write(sb, value, new Options(ensureAscii, indentText, itemSeparator, keySeparator, sortKeys), 0);
        return sb.ToString();
    }

    private sealed record Options(bool EnsureAscii, string? Indent, string ItemSeparator, string KeySeparator, bool SortKeys);

    private static void Write(StringBuilder sb, object? value, Options o, int level)
    {
        if (level > 200)
        {
            throw new JinjaError("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
        }

        if (sb.Length > JinjaLimits.MaxOutputChars)
        {
            throw new JinjaError("MemoryError", "the JSON text exceeds the renderer's limit");
        }

        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(Float(d));
                break;
            case string or PyMarkup:
                WriteString(sb, PyOps.AsString(value)!, o.EnsureAscii);
                break;
            case List<object?> or PyTuple:
                WriteList(sb, PyOps.ToList(value), o, level);
                break;
            case PyDict dict:
                WriteDict(sb, dict, o, level);
                break;
            default:
                string typeName = value is JinjaUndefined ? "Undefined" : PyOps.TypeName(value);
                throw JinjaError.Type($"Object of type {typeName} is not JSON serializable");
        }
    }

    private static string Float(double d) => double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity"
        : double.IsNegativeInfinity(d) ? "-Infinity" : PyFormat.FloatRepr(d);

    private static void NewLine(StringBuilder sb, Options o, int level)
    {
        sb.Append('\n');
        for (int i = 0; i < level; i++)
        {
            sb.Append(o.Indent);
        }
    }

    private static void WriteList(StringBuilder sb, List<object?> items, Options o, int level)
    {
        if (items.Count == 0)
        {
            sb.Append("[]");
            return;
        }

        sb.Append('[');
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(o.ItemSeparator);
            }

            if (o.Indent is not null)
            {
                NewLine(sb, o, level + 1);
            }

            Write(sb, items[i], o, level + 1);
        }

        if (o.Indent is not null)
        {
            NewLine(sb, o, level);
        }

        sb.Append(']');
    }

    private static void WriteDict(StringBuilder sb, PyDict dict, Options o, int level)
    {
        if (dict.Count == 0)
        {
            sb.Append("{}");
            return;
        }

        var entries = dict.Entries.Select(e => (Key: KeyText(e.Key), e.Value)).ToList();
        if (o.SortKeys)
        {
            // Python sorts the original keys; for the string keys templates use that is code point order.
            entries = entries.OrderBy(e => e.Key, Comparer<string>.Create(PyOps.CompareCodePoints)).ToList();
        }

        sb.Append('{');
        for (int i = 0; i < entries.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(o.ItemSeparator);
            }

            if (o.Indent is not null)
            {
                NewLine(sb, o, level + 1);
            }

            WriteString(sb, entries[i].Key, o.EnsureAscii);
            sb.Append(o.KeySeparator);
            Write(sb, entries[i].Value, o, level + 1);
        }

        if (o.Indent is not null)
        {
            NewLine(sb, o, level);
        }

        sb.Append('}');
    }

    private static string KeyText(object key) => key switch
    {
        string s => s,
        PyMarkup m => m.Value,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        _ => throw JinjaError.Type($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
    };

    private static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ensureAscii && c > 0x7e))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
