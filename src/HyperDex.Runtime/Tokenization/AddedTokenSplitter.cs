using System.Collections.Frozen;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Splits raw text around added tokens the way HF does before normalization: leftmost-longest match over all added
/// tokens (special or not); the text between matches is normalized and encoded on its own.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly FrozenDictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToFrozenDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>Calls <paramref name="onText"/> for each plain segment and <paramref name="onToken"/> for each match, in order.</summary>
    public void Split(string text, Action<string> onText, Action<AddedToken> onToken)
    {
        if (_byFirstChar.Count == 0)
        {
            onText(text);
            return;
        }

        int segmentStart = 0;
        var span = text.AsSpan();
        for (int i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
            {
                continue;
            }

            foreach (var token in candidates)
            {
                if (span[i..].StartsWith(token.Content, StringComparison.Ordinal))
                {
                    if (i > segmentStart)
                    {
                        onText(text[segmentStart..i]);
                    }

                    onToken(token);
                    i += token.Content.Length - 1;
                    segmentStart = i + 1;
                    break;
                }
            }
        }

        if (segmentStart < text.Length)
        {
            onText(segmentStart == 0 ? text : text[segmentStart..]);
        }
    }
}
