using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// datetime.strftime as CPython on Linux (glibc) formats, in the C locale: the usual directives and glibc's
/// padding flags ('-' none, '_' spaces, '0' zeros), which templates use as "%-d".
/// </summary>
internal static class PyStrftime
{
    public static string Format(DateTime time, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            char flag = '\0';
            char directive = format[++i];
            if (directive is '-' or '_' or '0' && i + 1 < format.Length)
            {
                flag = directive;
                directive = format[++i];
            }

            sb.Append(Directive(time, directive, flag) ?? "%" + (flag == '\0' ? string.Empty : flag.ToString()) + directive);
        }

        return sb.ToString();
    }

    private static string? Directive(DateTime t, char d, char flag)
    {
        var c = CultureInfo.InvariantCulture;
        string Number(int value, int width, char pad = '0') => flag switch
        {
            '-' => value.ToString(c),
            '_' => value.ToString(c).PadLeft(width, ' '),
            '0' => value.ToString(c).PadLeft(width, '0'),
            _ => value.ToString(c).PadLeft(width, pad),
        };

        int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        return d switch
        {
            'a' => t.ToString("ddd", c),
            'A' => t.ToString("dddd", c),
            'b' or 'h' => t.ToString("MMM", c),
            'B' => t.ToString("MMMM", c),
            'd' => Number(t.Day, 2),
            'e' => Number(t.Day, 2, ' '),
            'm' => Number(t.Month, 2),
            'y' => Number(t.Year % 100, 2),
            'Y' => flag == '\0' ? t.Year.ToString(c) : Number(t.Year, 4),
            'H' => Number(t.Hour, 2),
            'k' => Number(t.Hour, 2, ' '),
            'I' => Number(hour12, 2),
            'l' => Number(hour12, 2, ' '),
            'M' => Number(t.Minute, 2),
            'S' => Number(t.Second, 2),
            'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
            'p' => t.Hour < 12 ? "AM" : "PM",
            'P' => t.Hour < 12 ? "am" : "pm",
            'j' => Number(t.DayOfYear, 3),
            'w' => ((int)t.DayOfWeek).ToString(c),
            'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(c),
            'U' => Number((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2),
            'W' => Number((t.DayOfYear + 6 - (((int)t.DayOfWeek + 6) % 7)) / 7, 2),
            'V' => Number(ISOWeek.GetWeekOfYear(t), 2),
            'G' => ISOWeek.GetYear(t).ToString(c),
            'C' => Number(t.Year / 100, 2),
            'D' => t.ToString("MM/dd/yy", c),
            'F' => t.ToString("yyyy-MM-dd", c),
            'T' => t.ToString("HH:mm:ss", c),
            'R' => t.ToString("HH:mm", c),
            'r' => $"{hour12:00}:{t.Minute:00}:{t.Second:00} {(t.Hour < 12 ? "AM" : "PM")}",
            'c' => t.ToString("ddd MMM ", c) + t.Day.ToString(c).PadLeft(2) + t.ToString(" HH:mm:ss yyyy", c),
            'x' => t.ToString("MM/dd/yy", c),
            'X' => t.ToString("HH:mm:ss", c),
            'n' => "\n",
            't' => "\t",
            'z' => string.Empty,
            'Z' => string.Empty,
            's' => new DateTimeOffset(t).ToUnixTimeSeconds().ToString(c),
            '%' => "%",
            _ => null,
        };
    }
}
