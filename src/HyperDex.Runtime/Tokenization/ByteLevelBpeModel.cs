using System.Text;
using HyperDex.Runtime.Diagnostics;
using Microsoft.ML.Tokenizers;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Byte-level BPE through Microsoft.ML.Tokenizers. With HF's ignore_merges (Llama 3) a whole pre-token found in the
/// vocabulary is taken as is, which is exactly ML's tiktoken algorithm, so we feed it a tiktoken file built from the
/// vocabulary (rank = id). Without it (GPT-2, Qwen) ML's BpeTokenizer applies the merges in rank order as HF does.
/// Either way the pre-tokenizer is our code-point-aware one.
/// </summary>
internal sealed class ByteLevelBpeModel : IBpeModel
{
    /// <summary>Pre-tokens whose ids ML keeps (its default is 8192); a word costs well under 100 bytes.</summary>
    private const int WordCacheSize = 65536;

    private readonly Tokenizer _tokenizer;

    public ByteLevelBpeModel(TokenizerDefinition definition)
    {
        var preTokenizer = new CodePointSplitPreTokenizer(definition.SplitPatterns);
        _tokenizer = definition.IgnoreMerges
            ? TiktokenTokenizer.Create(TiktokenStream(definition), preTokenizer, normalizer: null, specialTokens: null, cacheSize: WordCacheSize)
            : BpeTokenizer.Create(new BpeOptions(definition.Vocab)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                PreTokenizer = preTokenizer,
            });
    }

    public void Encode(string text, List<int> ids) =>
        ids.AddRange(_tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));

    private static MemoryStream TiktokenStream(TokenizerDefinition definition)
    {
        var builder = new StringBuilder(definition.Vocab.Count * 16);
        foreach (var (token, id) in definition.Vocab)
        {
            byte[] bytes = ByteLevelAlphabet.ToBytes(token)
                ?? throw new HdxException("TokenizerUnsupported", HdxErrorKind.NotSupported,
                    $"The byte-level vocabulary of '{definition.Source}' has the token '{token}', which is not in the byte alphabet (model.vocab).",
                    definition.Source);
            builder.Append(Convert.ToBase64String(bytes)).Append(' ').Append(id).Append('\n');
        }

        return new MemoryStream(Encoding.UTF8.GetBytes(builder.ToString()));
    }
}
