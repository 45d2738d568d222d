using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Token ids size the tokenizer's tables (one entry per id up to the largest), so an id of 2^30 in a hostile
/// tokenizer.json would allocate gigabytes. Ids may leave holes (HF decodes a hole to nothing), but not vast ones:
/// the largest id must stay within a generous multiple of the number of tokens.
/// </summary>
internal static class TokenizerIdBounds
{
    public static void Check(TokenizerDefinition definition)
    {
        long tokens = definition.Vocab.Count + (long)definition.AddedTokens.Count;
        long limit = Math.Min(1L << 26, (4 * tokens) + 65_536);
        foreach (int id in definition.Vocab.Values.Concat(definition.AddedTokens.Select(t => t.Id)))
        {
            if (id < 0 || id >= limit)
            {
                throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData,
                    $"'{definition.Source}' gives a token the id {id}, outside 0..{limit - 1} for a tokenizer of {tokens} tokens", definition.Source,
                    "Use the model's original tokenizer files.");
            }
        }
    }
}
