using System.Buffers;
using System.Collections.Frozen;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Splits raw text around added tokens the way HF does before normalization: leftmost-longest match over all added
/// tokens (special or not), widened over whitespace for lstrip/rstrip tokens; the text between matches is
/// normalized and encoded on its own.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly FrozenDictionary<char, AddedToken[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToFrozenDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>
    /// Calls <paramref name="onText"/> for each plain segment (with its offset in the text) and
    /// <paramref name="onToken"/> for each match, in order.
    /// </summary>
    public void Split(string text, Action<string, int> onText, Action<AddedToken> onToken)
    {
        if (_byFirstChar.Count == 0)
        {
            onText(text, 0);
            return;
        }

        int segmentStart = 0;
        var span = text.AsSpan();
        for (int i = span.IndexOfAny(_firstChars); i >= 0 && i < text.Length; i = NextCandidate(span, i + 1))
        {
            var candidates = _byFirstChar[text[i]];
            foreach (var token in candidates)
            {
                if (span[i..].StartsWith(token.Content, StringComparison.Ordinal))
                {
                    int start = i;
                    int end = i + token.Content.Length;
                    while (token.LStrip && start > segmentStart && char.IsWhiteSpace(text[start - 1]))
                    {
                        start--;
                    }

                    while (token.RStrip && end < text.Length && char.IsWhiteSpace(text[end]))
                    {
                        end++;
                    }

                    if (start > segmentStart)
                    {
                        onText(text[segmentStart..start], segmentStart);
                    }

                    onToken(token);
                    segmentStart = end;
                    i = end - 1;
                    break;
                }
            }
        }

        if (segmentStart < text.Length)
        {
            onText(segmentStart == 0 ? text : text[segmentStart..], segmentStart);
        }
    }

    private int NextCandidate(ReadOnlySpan<char> text, int from)
    {
        int next = from < text.Length ? text[from..].IndexOfAny(_firstChars) : -1;
        return next < 0 ? -1 : from + next;
    }
}
