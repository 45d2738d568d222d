using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Templating;

/// <summary>
/// Jinja2's lexer with the options transformers uses (trim_blocks, lstrip_blocks, default delimiters,
/// keep_trailing_newline off): text, {{ }}, {% %}, {# #} and {% raw %}, with '-' and '+' whitespace control.
/// </summary>
internal static class JinjaLexer
{
    private static readonly string[] Operators =
    [
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".",
        ":", "|", ",", ";",
    ];

    public static List<JinjaToken> Tokenize(string source)
    {
        // Jinja normalises every line break to \n and drops one trailing newline.
        source = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (source.EndsWith('\n'))
        {
            source = source[..^1];
        }

        var tokens = new List<JinjaToken>();
        int pos = 0;
        int line = 1;
        bool lineStarting = true;
        while (pos < source.Length)
        {
            int start = FindTagStart(source, pos);
            if (start < 0)
            {
                tokens.Add(new JinjaToken(TokenKind.Data, source[pos..], line));
                break;
            }

            char kind = source[start + 1];
            int after = start + 2;
            char sign = after < source.Length && source[after] is '-' or '+' ? source[after] : '\0';
            string text = ApplyLeftStrip(source[pos..start], sign, kind != '{', lineStarting);
            if (text.Length > 0)
            {
                tokens.Add(new JinjaToken(TokenKind.Data, text, line));
            }

            line += Count(source, pos, start);
            pos = after + (sign == '\0' ? 0 : 1);
            if (kind == '%' && TryRaw(source, pos, out int rawBodyStart))
            {
                pos = LexRaw(source, rawBodyStart, tokens, ref line, out lineStarting);
                continue;
            }

            if (kind == '#')
            {
                pos = SkipComment(source, pos, ref line, out lineStarting);
                continue;
            }

            tokens.Add(new JinjaToken(kind == '%' ? TokenKind.BlockBegin : TokenKind.VariableBegin, kind == '%' ? "{%" : "{{", line));
            pos = LexTag(source, pos, kind == '%', tokens, ref line, out lineStarting);
        }

        tokens.Add(new JinjaToken(TokenKind.End, string.Empty, line));
        return tokens;
    }

    private static int FindTagStart(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
        {
            if (s[i + 1] is '%' or '{' or '#')
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>'-' strips all whitespace before the tag; lstrip_blocks strips a line's indentation before a block or comment.</summary>
    private static string ApplyLeftStrip(string text, char sign, bool lstripApplies, bool lineStarting)
    {
        if (sign == '-')
        {
            return RStrip(text);
        }

        if (sign == '+' || !lstripApplies)
        {
            return text;
        }

        int lineStart = text.LastIndexOf('\n') + 1;
        if ((lineStart > 0 || lineStarting) && lineStart < text.Length && AllSpace(text, lineStart, text.Length))
        {
            return text[..lineStart];
        }

        return text;
    }

    /// <summary>Python's str.isspace for one character (what \s and str.strip() use).</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    public static string RStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1]))
        {
            end--;
        }

        return s[..end];
    }

    private static bool AllSpace(string s, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            if (!IsSpace(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static int Count(string s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++)
        {
            if (s[i] == '\n')
            {
                n++;
            }
        }

        return n;
    }

    private static int SkipSpace(string s, int pos)
    {
        while (pos < s.Length && IsSpace(s[pos]))
        {
            pos++;
        }

        return pos;
    }

    /// <summary>Matches the rest of <c>{% raw %}</c> (whose end has no trim_blocks newline).</summary>
    private static bool TryRaw(string s, int pos, out int bodyStart)
    {
        bodyStart = 0;
        int p = SkipSpace(s, pos);
        if (string.CompareOrdinal(s, p, "raw", 0, 3) != 0)
        {
            return false;
        }

        p = SkipSpace(s, p + 3);
        if (string.CompareOrdinal(s, p, "-%}", 0, 3) == 0)
        {
            bodyStart = SkipSpace(s, p + 3);
            return true;
        }

        if (string.CompareOrdinal(s, p, "%}", 0, 2) == 0)
        {
            bodyStart = p + 2;
            return true;
        }

        return false;
    }

    private static int LexRaw(string s, int bodyStart, List<JinjaToken> tokens, ref int line, out bool lineStarting)
    {
        for (int i = s.IndexOf("{%", bodyStart, StringComparison.Ordinal); i >= 0; i = s.IndexOf("{%", i + 1, StringComparison.Ordinal))
        {
            int p = i + 2;
            char sign = p < s.Length && s[p] is '-' or '+' ? s[p] : '\0';
            p = SkipSpace(s, p + (sign == '\0' ? 0 : 1));
            if (string.CompareOrdinal(s, p, "endraw", 0, 6) != 0)
            {
                continue;
            }

            p = SkipSpace(s, p + 6);
            int end = MatchBlockEnd(s, p);
            if (end < 0)
            {
                continue;
            }

            string text = ApplyLeftStrip(s[bodyStart..i], sign, true, false);
            if (text.Length > 0)
            {
                tokens.Add(new JinjaToken(TokenKind.Data, text, line));
            }

            line += Count(s, bodyStart, end);
            lineStarting = s[end - 1] == '\n';
            return end;
        }

        throw JinjaError.Syntax("Missing end of raw directive", line);
    }

    /// <summary>The end of '+%}', '-%}' plus whitespace, or '%}' plus one newline (trim_blocks); -1 when none is at pos.</summary>
    private static int MatchBlockEnd(string s, int pos)
    {
        if (string.CompareOrdinal(s, pos, "+%}", 0, 3) == 0)
        {
            return pos + 3;
        }

        if (string.CompareOrdinal(s, pos, "-%}", 0, 3) == 0)
        {
            return SkipSpace(s, pos + 3);
        }

        if (string.CompareOrdinal(s, pos, "%}", 0, 2) == 0)
        {
            return pos + 2 < s.Length && s[pos + 2] == '\n' ? pos + 3 : pos + 2;
        }

        return -1;
    }

    private static int SkipComment(string s, int pos, ref int line, out bool lineStarting)
    {
        for (int i = pos; i < s.Length; i++)
        {
            int end = -1;
            if (string.CompareOrdinal(s, i, "+#}", 0, 3) == 0)
            {
                end = i + 3;
            }
            else if (string.CompareOrdinal(s, i, "-#}", 0, 3) == 0)
            {
                end = SkipSpace(s, i + 3);
            }
            else if (string.CompareOrdinal(s, i, "#}", 0, 2) == 0)
            {
                end = i + 2 < s.Length && s[i + 2] == '\n' ? i + 3 : i + 2;
            }

            if (end >= 0)
            {
                line += Count(s, pos, end);
                lineStarting = s[end - 1] == '\n';
                return end;
            }
        }

        throw JinjaError.Syntax("Missing end of comment tag", line);
    }

    private static int LexTag(string s, int pos, bool block, List<JinjaToken> tokens, ref int line, out bool lineStarting)
    {
        var balance = new Stack<char>();
        while (true)
        {
            if (pos >= s.Length)
            {
                throw JinjaError.Syntax($"unexpected end of template, expected '{(block ? "%}" : "}}")}'", line);
            }

            if (balance.Count == 0)
            {
                int end = block ? MatchBlockEnd(s, pos) : MatchVariableEnd(s, pos);
                if (end >= 0)
                {
                    tokens.Add(new JinjaToken(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, block ? "%}" : "}}", line));
                    line += Count(s, pos, end);
                    lineStarting = s[end - 1] == '\n';
                    return end;
                }
            }

            char c = s[pos];
            if (IsSpace(c))
            {
                int next = SkipSpace(s, pos);
                line += Count(s, pos, next);
                pos = next;
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                pos = LexNumber(s, pos, tokens, line);
                continue;
            }

            if (c == '_' || char.IsLetter(c))
            {
                int p = pos + 1;
                while (p < s.Length && (s[p] == '_' || char.IsLetterOrDigit(s[p])))
                {
                    p++;
                }

                tokens.Add(new JinjaToken(TokenKind.Name, s[pos..p], line));
                pos = p;
                continue;
            }

            if (c is '\'' or '"')
            {
                int p = pos + 1;
                while (p < s.Length && s[p] != c)
                {
                    p += s[p] == '\\' ? 2 : 1;
                }

                if (p >= s.Length)
                {
                    throw JinjaError.Syntax("unexpected char " + PyFormat.Repr(c.ToString()) + $" at {pos}", line);
                }

                string raw = s[(pos + 1)..p];
                tokens.Add(new JinjaToken(TokenKind.String, raw, line, Unescape(raw, line)));
                line += Count(s, pos, p);
                pos = p + 1;
                continue;
            }

            string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, pos, o, 0, o.Length) == 0);
            if (op is null)
            {
                throw JinjaError.Syntax($"unexpected char {PyFormat.Repr(c.ToString())} at {pos}", line);
            }

            Balance(balance, op, line);
            tokens.Add(new JinjaToken(TokenKind.Operator, op, line));
            pos += op.Length;
        }
    }

    private static int MatchVariableEnd(string s, int pos)
    {
        if (string.CompareOrdinal(s, pos, "-}}", 0, 3) == 0)
        {
            return SkipSpace(s, pos + 3);
        }

        return string.CompareOrdinal(s, pos, "}}", 0, 2) == 0 ? pos + 2 : -1;
    }

    private static void Balance(Stack<char> balance, string op, int line)
    {
        switch (op)
        {
            case "(":
                balance.Push(')');
                break;
            case "[":
                balance.Push(']');
                break;
            case "{":
                balance.Push('}');
                break;
            case ")" or "]" or "}":
                if (balance.Count == 0)
                {
                    throw JinjaError.Syntax($"unexpected '{op}'", line);
                }

                char expected = balance.Pop();
                if (expected != op[0])
                {
                    throw JinjaError.Syntax($"unexpected '{op}', expected '{expected}'", line);
                }

                break;
        }
    }

    private static int LexNumber(string s, int pos, List<JinjaToken> tokens, int line)
    {
        int p = pos;
        while (p < s.Length && (char.IsAsciiDigit(s[p]) || (s[p] == '_' && p + 1 < s.Length && char.IsAsciiDigit(s[p + 1]))))
        {
            p++;
        }

        bool isFloat = false;
        if (p + 1 < s.Length && s[p] == '.' && char.IsAsciiDigit(s[p + 1]))
        {
            isFloat = true;
            p++;
            while (p < s.Length && (char.IsAsciiDigit(s[p]) || (s[p] == '_' && p + 1 < s.Length && char.IsAsciiDigit(s[p + 1]))))
            {
                p++;
            }
        }

        if (p < s.Length && s[p] is 'e' or 'E')
        {
            int q = p + 1;
            if (q < s.Length && s[q] is '+' or '-')
            {
                q++;
            }

            if (q < s.Length && char.IsAsciiDigit(s[q]))
            {
                isFloat = true;
                p = q;
                while (p < s.Length && char.IsAsciiDigit(s[p]))
                {
                    p++;
                }
            }
        }

        string text = s[pos..p].Replace("_", string.Empty, StringComparison.Ordinal);
        if (isFloat)
        {
            tokens.Add(new JinjaToken(TokenKind.Float, text, line, double.Parse(text, CultureInfo.InvariantCulture)));
        }
        else
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                throw JinjaError.Syntax($"integer literal {text} is too large for this renderer", line);
            }

            tokens.Add(new JinjaToken(TokenKind.Integer, text, line, value));
        }

        return p;
    }

    /// <summary>Python's unicode-escape decoding of a string literal; unknown escapes keep their backslash.</summary>
    private static string Unescape(string raw, int line)
    {
        if (!raw.Contains('\\'))
        {
            return raw;
        }

        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '\\' || i + 1 >= raw.Length)
            {
                sb.Append(raw[i]);
                continue;
            }

            char e = raw[++i];
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(Hex(raw, ref i, 2, line)); break;
                case 'u': sb.Append(Hex(raw, ref i, 4, line)); break;
                case 'U': sb.Append(Hex(raw, ref i, 8, line)); break;
                case >= '0' and <= '7':
                    int value = e - '0';
                    for (int k = 0; k < 2 && i + 1 < raw.Length && raw[i + 1] is >= '0' and <= '7'; k++)
                    {
                        value = (value * 8) + (raw[++i] - '0');
                    }

                    sb.Append((char)value);
                    break;
                default:
                    sb.Append('\\').Append(e);
                    break;
            }
        }

        return sb.ToString();
    }

    private static string Hex(string raw, ref int i, int digits, int line)
    {
        string hex = raw.Substring(i + 1, Math.Min(digits, raw.Length - i - 1));
        if (hex.Length < digits || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
        {
            throw JinjaError.Syntax($"truncated \\{raw[i]}{new string('X', digits)} escape", line);
        }

        i += digits;
        return code is >= 0xD800 and <= 0xDFFF ? ((char)code).ToString() : char.ConvertFromUtf32(code);
    }
}
