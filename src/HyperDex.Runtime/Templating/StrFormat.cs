using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>str.format with {} / {0} / {name} fields, attribute and index access in a field, !s/!r, and simple specs.</summary>
internal static class StrFormat
{
    public static string Format(string format, List<object?> args, List<KeyValuePair<string, object?>> kwargs)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }

            if (c == '}' && i + 1 < format.Length && format[i + 1] == '}')
            {
                sb.Append('}');
                i++;
                continue;
            }

            if (c != '{')
            {
                sb.Append(c);
                continue;
            }

            int close = format.IndexOf('}', i);
            if (close < 0)
            {
                throw new JinjaError("ValueError", "Single '{' encountered in format string");
            }

            string field = format[(i + 1)..close];
            i = close;
            string? spec = null, conversion = null;
            int colon = field.IndexOf(':');
            if (colon >= 0)
            {
                spec = field[(colon + 1)..];
                field = field[..colon];
            }

            int bang = field.IndexOf('!');
            if (bang >= 0)
            {
                conversion = field[(bang + 1)..];
                field = field[..bang];
            }

            int accessAt = field.IndexOfAny(['.', '[']);
            string head = accessAt < 0 ? field : field[..accessAt];
            object? value;
            if (head.Length == 0)
            {
                value = auto < args.Count ? args[auto++] : throw new JinjaError("IndexError", "Replacement index out of range for positional args tuple");
            }
            else if (int.TryParse(head, out int index))
            {
                value = index < args.Count ? args[index] : throw new JinjaError("IndexError", "Replacement index out of range for positional args tuple");
            }
            else
            {
                var match = kwargs.FirstOrDefault(k => k.Key == head);
                value = match.Key is null ? throw new JinjaError("KeyError", PyFormat.Repr(head)) : match.Value;
            }

            value = Access(value, accessAt < 0 ? string.Empty : field[accessAt..]);
            string text = conversion == "r" ? PyFormat.Repr(value) : PyFormat.Str(value);
            sb.Append(ApplySpec(text, spec, value));
        }

        return sb.ToString();
    }

    private static object? Access(object? value, string path)
    {
        int i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                int end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                value = JinjaAccess.GetAttribute(value, path[(i + 1)..end]);
                i = end;
            }
            else
            {
                int end = path.IndexOf(']', i);
                string key = path[(i + 1)..end];
                value = JinjaAccess.GetItem(value, long.TryParse(key, out long n) ? n : key);
                i = end + 1;
            }
        }

        return value;
    }

    private static string ApplySpec(string text, string? spec, object? value)
    {
        if (string.IsNullOrEmpty(spec))
        {
            return text;
        }

        if (PyOps.IsNumber(value) && spec.EndsWith('f') || spec.EndsWith('d'))
        {
            return PrintfFormat.Format("%" + spec, value);
        }

        char align = '<';
        char fill = ' ';
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^')
        {
            fill = spec[0];
            align = spec[1];
            spec = spec[2..];
        }
        else if (spec[0] is '<' or '>' or '^')
        {
            align = spec[0];
            spec = spec[1..];
        }
        else if (PyOps.IsNumber(value))
        {
            align = '>';
        }

        if (!int.TryParse(spec, out int width) || width <= text.Length)
        {
            return text;
        }

        int pad = width - text.Length;
        return align switch
        {
            '>' => new string(fill, pad) + text,
            '^' => new string(fill, pad / 2) + text + new string(fill, pad - (pad / 2)),
            _ => text + new string(fill, pad),
        };
    }
}
