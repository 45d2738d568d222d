using System.Text;
using HyperDex.Runtime.Diagnostics;
using Microsoft.ML.Tokenizers;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// SentencePiece-style BPE (HF's conversion of Llama 2, Mistral, Gemma) through ML's BpeTokenizer over the whole
/// segment, which merges leftmost-first like HF (ML's own SentencePiece path breaks ties right-to-left). BpeTokenizer
/// has no byte_fallback, so characters it marks unknown are replaced here by their UTF-8 bytes as &lt;0xXX&gt; pieces;
/// a character with a missing byte piece stays unknown (fused with a neighbouring unknown when fuse_unk is set).
/// </summary>
internal sealed class SentencePieceBpeModel : IBpeModel
{
    private readonly BpeTokenizer _tokenizer;
    private readonly int _unknownId;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnknown;
    private readonly int[] _byteIds = new int[256];

    public SentencePieceBpeModel(TokenizerDefinition definition, bool byteFallback)
    {
        if (definition.UnknownToken is null || !definition.Vocab.TryGetValue(definition.UnknownToken, out _unknownId))
        {
            throw new HdxException("TokenizerUnsupported", HdxErrorKind.NotSupported,
                $"The SentencePiece-style BPE in '{definition.Source}' has no unknown token in its vocabulary (model.unk_token).",
                definition.Source);
        }

        _byteFallback = byteFallback;
        _fuseUnknown = definition.FuseUnknown;
        for (int b = 0; b < 256; b++)
        {
            _byteIds[b] = definition.Vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        }

        _tokenizer = BpeTokenizer.Create(new BpeOptions(definition.Vocab)
        {
            Merges = definition.Merges,
            UnknownToken = definition.UnknownToken,
            FuseUnknownTokens = false,
            PreTokenizer = new CodePointSplitPreTokenizer([]),
        });
    }

    public void Encode(string text, List<int> ids)
    {
        var fast = _tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false);
        if (!fast.Contains(_unknownId))
        {
            ids.AddRange(fast);
            return;
        }

        var tokens = _tokenizer.EncodeToTokens(text, out _, considerPreTokenization: true, considerNormalization: false);
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Id != _unknownId)
            {
                ids.Add(tokens[i].Id);
                continue;
            }

            // A run of unknown tokens covers whole code points together, even where ML split a surrogate pair.
            int start = tokens[i].Offset.Start.GetOffset(text.Length);
            while (i + 1 < tokens.Count && tokens[i + 1].Id == _unknownId)
            {
                i++;
            }

            int end = tokens[i].Offset.End.GetOffset(text.Length);
            AppendFallback(text.AsSpan(start, end - start), ids);
        }
    }

    private void AppendFallback(ReadOnlySpan<char> span, List<int> ids)
    {
        Span<byte> utf8 = stackalloc byte[4];
        bool lastWasUnknown = false;
        foreach (var rune in span.EnumerateRunes())
        {
            if (_byteFallback)
            {
                int length = rune.EncodeToUtf8(utf8);
                bool complete = true;
                for (int k = 0; k < length; k++)
                {
                    complete &= _byteIds[utf8[k]] >= 0;
                }

                if (complete)
                {
                    for (int k = 0; k < length; k++)
                    {
                        ids.Add(_byteIds[utf8[k]]);
                    }

                    lastWasUnknown = false;
                    continue;
                }
            }

            if (!(_fuseUnknown && lastWasUnknown))
            {
                ids.Add(_unknownId);
            }

            lastWasUnknown = true;
        }
    }
}
