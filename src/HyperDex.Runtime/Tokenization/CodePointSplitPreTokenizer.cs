using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// HF's Split pre-tokenizer (behaviour Isolated: matches and the gaps between them are both pieces), with several
/// patterns applied in sequence, matching on whole code points. .NET's Regex sees UTF-16 code units, so a character
/// outside the BMP would be two `Cs` units and never match \p{L} or \p{N}; we run the regex on a "shadow" string in
/// which each surrogate pair is one BMP character of the same Unicode category, and map the offsets back.
/// No patterns means the whole text is one piece.
/// </summary>
internal sealed class CodePointSplitPreTokenizer : PreTokenizer
{
    /// <summary>The regex of HF's ByteLevel pre-tokenizer with use_regex (GPT-2).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly char[] CategoryStandIns = BuildStandIns();

    private readonly Regex[] _patterns;

    /// <summary>How long one match may take with the backtracking engine before the text is refused (HF's Rust regex never backtracks).</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    public CodePointSplitPreTokenizer(IEnumerable<string> patterns)
    {
        _patterns = patterns.Select(Build).ToArray();
    }

    /// <summary>
    /// A Split regex from tokenizer.json is untrusted: a pattern such as (a+)+$ backtracks exponentially. The
    /// non-backtracking engine (linear in the text, same matches) takes every pattern it supports; the rest (look-
    /// arounds, as in the GPT-2 and Llama 3 patterns, which do not backtrack badly) run with a match timeout.
    /// </summary>
    internal static Regex Build(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, MatchTimeout);
        }
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    private List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        if (text.IsEmpty)
        {
            return pieces;
        }

        pieces.Add((0, text.Length));
        foreach (var pattern in _patterns)
        {
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            foreach (var (offset, length) in pieces)
            {
                try
                {
                    SplitIsolated(pattern, text.Slice(offset, length), offset, next);
                }
                catch (RegexMatchTimeoutException e)
                {
                    throw new Diagnostics.HdxException("TokenizerRegexTimeout", Diagnostics.HdxErrorKind.InvalidData,
                        $"the tokenizer's Split pattern '{pattern}' took more than {MatchTimeout.TotalSeconds:0} s on one piece of this text (catastrophic backtracking)",
                        pattern.ToString(), "Use the model's original tokenizer.json; this pattern is not one a real tokenizer uses.", e);
                }
            }

            pieces = next;
        }

        return pieces;
    }

    private static void SplitIsolated(Regex pattern, ReadOnlySpan<char> piece, int baseOffset, List<(int, int)> output)
    {
        if (piece.IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            int last = 0;
            foreach (var match in pattern.EnumerateMatches(piece))
            {
                AddIsolated(output, baseOffset, ref last, match.Index, match.Length);
            }

            if (last < piece.Length)
            {
                output.Add((baseOffset + last, piece.Length - last));
            }

            return;
        }

        // Shadow string: one char per code point; map[k] is the UTF-16 index of shadow char k (map[^1] = length).
        var shadow = new char[piece.Length];
        var map = new int[piece.Length + 1];
        int n = 0;
        for (int i = 0; i < piece.Length; i++)
        {
            map[n] = i;
            if (char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]))
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(piece[i], piece[i + 1]));
                shadow[n++] = CategoryStandIns[(int)category];
                i++;
            }
            else
            {
                shadow[n++] = piece[i];
            }
        }

        map[n] = piece.Length;
        int lastMapped = 0;
        foreach (var match in pattern.EnumerateMatches(shadow.AsSpan(0, n)))
        {
            int start = map[match.Index];
            int end = map[match.Index + match.Length];
            AddIsolated(output, baseOffset, ref lastMapped, start, end - start);
        }

        if (lastMapped < piece.Length)
        {
            output.Add((baseOffset + lastMapped, piece.Length - lastMapped));
        }
    }

    private static void AddIsolated(List<(int, int)> output, int baseOffset, ref int last, int index, int length)
    {
        if (length == 0)
        {
            return;
        }

        if (index > last)
        {
            output.Add((baseOffset + last, index - last));
        }

        output.Add((baseOffset + index, length));
        last = index + length;
    }

    /// <summary>For each Unicode category, a BMP non-ASCII, non-whitespace character of that category.</summary>
    private static char[] BuildStandIns()
    {
        var standIns = new char[32];
        for (int c = 0xFFFD; c >= 0x100; c--)
        {
            if (c is >= 0xD800 and <= 0xDFFF || char.IsWhiteSpace((char)c))
            {
                continue;
            }

            standIns[(int)CharUnicodeInfo.GetUnicodeCategory((char)c)] = (char)c;
        }

        // Categories without such a character (none in practice) fall back to an unassigned code point.
        for (int i = 0; i < standIns.Length; i++)
        {
            if (standIns[i] == '\0')
            {
                standIns[i] = '\u0378';
            }
        }

        return standIns;
    }
}
