using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>Python's printf-style <c>"..." % args</c> for the common conversions (s, r, d, i, f, x, o, e, %).</summary>
internal static class PrintfFormat
{
    public static string Format(string format, object? args)
    {
        IReadOnlyList<object?> values = args is PyTuple t ? t.Items : [args];
        PyDict? mapping = args as PyDict;
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }

            if (++i >= format.Length)
            {
                throw new JinjaError("ValueError", "incomplete format");
            }

            object? value;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0 || mapping is null)
                {
                    throw JinjaError.Type("format requires a mapping");
                }

                string key = format[(i + 1)..close];
                if (!mapping.TryGet(key, out value))
                {
                    throw new JinjaError("KeyError", PyFormat.Repr(key));
                }

                i = close + 1;
            }
            else
            {
                value = null;
            }

            int specStart = i;
            while (i < format.Length && "-+ #0123456789.".Contains(format[i]))
            {
                i++;
            }

            if (i >= format.Length)
            {
                throw new JinjaError("ValueError", "incomplete format");
            }

            string spec = format[specStart..i];
            char conv = format[i];
            if (conv == '%')
            {
                sb.Append('%');
                continue;
            }

            if (format[specStart - 1] != ')')
            {
                if (next >= values.Count)
                {
                    throw JinjaError.Type("not enough arguments for format string");
                }

                value = values[next++];
            }

            sb.Append(Convert(conv, spec, value));
        }

        if (mapping is null && next < values.Count)
        {
            throw JinjaError.Type("not all arguments converted during string formatting");
        }

        return sb.ToString();
    }

    private static string Convert(char conv, string spec, object? value)
    {
        int flagEnd = 0;
        while (flagEnd < spec.Length && "-+ #0".Contains(spec[flagEnd]))
        {
            flagEnd++;
        }

        string flags = spec[..flagEnd];
        bool left = flags.Contains('-');
        bool zero = flags.Contains('0');
        string numbers = spec[flagEnd..];
        int precisionAt = numbers.IndexOf('.');
        int width = int.TryParse(precisionAt < 0 ? numbers : numbers[..precisionAt], out int w) ? w : 0;
        int? precision = precisionAt < 0 ? null : int.TryParse(numbers[(precisionAt + 1)..], out int p) ? p : 0;
        string text = conv switch
        {
            's' => precision is { } ps ? PyFormat.Str(value)[..Math.Min(ps, PyFormat.Str(value).Length)] : PyFormat.Str(value),
            'r' or 'a' => PyFormat.Repr(value),
            'd' or 'i' or 'u' => Integer(value).ToString(CultureInfo.InvariantCulture),
            'x' => Integer(value).ToString("x", CultureInfo.InvariantCulture),
            'X' => Integer(value).ToString("X", CultureInfo.InvariantCulture),
            'o' => System.Convert.ToString(Integer(value), 8),
            'f' or 'F' => Number(value).ToString("F" + (precision ?? 6), CultureInfo.InvariantCulture),
            'e' => Number(value).ToString("0." + new string('0', precision ?? 6) + "e+00", CultureInfo.InvariantCulture),
            _ => throw new JinjaError("ValueError", $"unsupported format character '{conv}'"),
        };
        if (flags.Contains('+') && conv is 'd' or 'i' or 'f' or 'F' or 'e' && !text.StartsWith('-'))
        {
            text = "+" + text;
        }

        if (text.Length >= width)
        {
            return text;
        }

        if (left)
        {
            return text.PadRight(width);
        }

        return zero && conv != 's' ? (text.StartsWith('-') ? "-" + text[1..].PadLeft(width - 1, '0') : text.PadLeft(width, '0')) : text.PadLeft(width);
    }

    private static long Integer(object? value) => value switch
    {
        bool or long => PyOps.ToLong(value),
        double d => (long)Math.Truncate(d),
        _ => throw JinjaError.Type($"%d format: a real number is required, not {PyOps.TypeName(value)}"),
    };

    private static double Number(object? value) => PyOps.IsNumber(value)
        ? PyOps.ToDouble(value)
        : throw JinjaError.Type($"must be real number, not {PyOps.TypeName(value)}");
}
