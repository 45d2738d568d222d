using System.Text;
using HyperDex.Runtime.Diagnostics;
using Microsoft.ML.Tokenizers;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// SentencePiece-style BPE (HF's conversion of Llama 2, Mistral, Gemma) through ML's BpeTokenizer, which merges
/// leftmost-first like HF (ML's own SentencePiece path breaks ties right-to-left). BpeTokenizer has no byte_fallback,
/// so characters missing from the vocabulary are handled here, as HF does: each becomes the &lt;0xXX&gt; pieces of its
/// UTF-8 bytes, or the unknown token when a byte piece is missing (fused with a neighbouring unknown when fuse_unk
/// is set). Such characters never take part in a merge, so the known text between them is encoded on its own; the
/// segment is also cut where no token can span the cut (<see cref="MetaspaceBoundaryPreTokenizer"/>), which keeps
/// the BPE words short and lets ML cache them.
/// </summary>
internal sealed class SentencePieceBpeModel : IBpeModel
{
    private readonly BpeTokenizer _tokenizer;
    private readonly MetaspaceBoundaryPreTokenizer _words;
    private readonly int _unknownId;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnknown;
    private readonly int[] _byteIds = new int[256];
    private readonly bool[] _knownBmp = new bool[char.MaxValue + 1];
    private readonly HashSet<int> _knownAstral = [];
    private readonly LinearBpe _longWords;

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

        foreach (string token in definition.Vocab.Keys)
        {
            if (token.Length == 1)
            {
                _knownBmp[token[0]] = true;
            }
            else if (token.Length == 2 && char.IsSurrogatePair(token[0], token[1]))
            {
                _knownAstral.Add(char.ConvertToUtf32(token[0], token[1]));
            }
        }

        _words = new MetaspaceBoundaryPreTokenizer(definition.Vocab.Keys);
        _longWords = new LinearBpe(definition.Vocab, definition.Merges);
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
        foreach (var (offset, length) in _words.PreTokenize(text))
        {
            EncodeWord(text.AsSpan(offset, length), ids);
        }
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> ids)
    {
        int runStart = 0;
        bool lastWasUnknown = false;
        for (int i = 0; i < word.Length;)
        {
            int width = i + 1 < word.Length && char.IsSurrogatePair(word[i], word[i + 1]) ? 2 : 1;
            bool known = width == 1 ? _knownBmp[word[i]] : _knownAstral.Contains(char.ConvertToUtf32(word[i], word[i + 1]));
            if (!known)
            {
                if (i > runStart)
                {
                    EncodeKnown(word[runStart..i], ids);
                    lastWasUnknown = false;
                }

                lastWasUnknown = AppendFallback(word.Slice(i, width), ids, lastWasUnknown);
                runStart = i + width;
            }

            i += width;
        }

        if (runStart < word.Length)
        {
            EncodeKnown(word[runStart..], ids);
        }
    }

    /// <summary>A run of known characters: ML (which caches words) for short runs, the O(n log n) merge for long ones.</summary>
    private void EncodeKnown(ReadOnlySpan<char> run, List<int> ids)
    {
        if (run.Length < LinearBpe.MinimumLength || !_longWords.TryEncode(run, ids))
        {
            ids.AddRange(_tokenizer.EncodeToIds(run, considerPreTokenization: false, considerNormalization: false));
        }
    }

    /// <summary>Byte pieces of one character, or the unknown token; returns whether it ended up unknown.</summary>
    private bool AppendFallback(ReadOnlySpan<char> character, List<int> ids, bool lastWasUnknown)
    {
        if (_byteFallback)
        {
            Span<byte> utf8 = stackalloc byte[4];
            Rune.DecodeFromUtf16(character, out var rune, out _);
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

                return false;
            }
        }

        if (!(_fuseUnknown && lastWasUnknown))
        {
            ids.Add(_unknownId);
        }

        return true;
    }
}
