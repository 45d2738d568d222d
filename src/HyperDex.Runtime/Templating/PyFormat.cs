using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>Python's str() and repr() of template values, which is what {{ }} prints.</summary>
internal static class PyFormat
{
    public static string Str(object? value) => value switch
    {
        null => "None",
        string s => s,
        PyMarkup m => m.Value,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        JinjaUndefined => string.Empty,
        _ => Repr(value),
    };

    public static string Repr(object? value) => value switch
    {
        null => "None",
        string s => StringRepr(s),
        PyMarkup m => "Markup(" + StringRepr(m.Value) + ")",
        bool or long or double => Str(value),
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        PyTuple t => t.Items.Count == 1 ? "(" + Repr(t.Items[0]) + ",)" : "(" + string.Join(", ", t.Items.Select(Repr)) + ")",
        PyDict d => "{" + string.Join(", ", d.Entries.Select(e => Repr(e.Key) + ": " + Repr(e.Value))) + "}",
        PyRange r => r.Step == 1 ? $"range({r.Start}, {r.Stop})" : $"range({r.Start}, {r.Stop}, {r.Step})",
        JinjaUndefined => string.Empty,
        JinjaNamespace ns => "<Namespace " + string.Join(", ", ns.Attributes.Select(a => a.Key + "=" + Repr(a.Value))) + ">",
        Macro m => $"<Macro '{m.Name}'>",
        PyGenerator g => $"<{g.TypeName} object>",
        PyFunction f => $"<built-in function {f.Name}>",
        _ => $"<{PyOps.TypeName(value)} object>",
    };

    /// <summary>float.__repr__: the shortest round-trip digits, fixed notation for exponents -4..15.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }

        if (d == 0)
        {
            return double.IsNegative(d) ? "-0.0" : "0.0";
        }

        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        // Digits and decimal exponent of the shortest representation.
        string mantissa = shortest.Split('E')[0].TrimStart('-');
        int exp10 = shortest.Contains('E') ? int.Parse(shortest.Split('E')[1], CultureInfo.InvariantCulture) : 0;
        int dot = mantissa.IndexOf('.');
        string digits = mantissa.Replace(".", string.Empty, StringComparison.Ordinal);
        int pointPos = (dot < 0 ? mantissa.Length : dot) + exp10;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
            pointPos--;
        }

        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        int exponent = pointPos - 1;
        string sign = d < 0 ? "-" : string.Empty;
        if (exponent < -4 || exponent >= 16)
        {
            string m = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{m}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }

        if (pointPos <= 0)
        {
            return sign + "0." + new string('0', -pointPos) + digits;
        }

        if (pointPos >= digits.Length)
        {
            return sign + digits + new string('0', pointPos - digits.Length) + ".0";
        }

        return sign + digits[..pointPos] + "." + digits[pointPos..];
    }

    /// <summary>str.__repr__: single quotes unless the text holds ' and no ", escapes for the unprintable.</summary>
    public static string StringRepr(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c == '\n')
            {
                sb.Append("\\n");
            }
            else if (c == '\r')
            {
                sb.Append("\\r");
            }
            else if (c == '\t')
            {
                sb.Append("\\t");
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[++i]);
            }
            else if (IsPrintable(c))
            {
                sb.Append(c);
            }
            else if (c < 0x100)
            {
                sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }

        return sb.Append(quote).ToString();
    }

    private static bool IsPrintable(char c)
    {
        if (c == ' ')
        {
            return true;
        }

        var category = char.GetUnicodeCategory(c);
        return category is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }
}
