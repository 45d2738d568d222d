namespace HyperDex.Runtime.Tokenization;

/// <summary>Which encode/decode recipe a tokenizer folder maps onto.</summary>
internal enum TokenizerRecipe
{
    /// <summary>GPT-2 style byte-level BPE (GPT-2, Llama 3, Qwen): ByteLevel pre-tokenizer and decoder.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece-converted BPE (Llama 2, Mistral, Gemma): whole-text BPE, byte fallback, ▁ for spaces.</summary>
    SentencePieceBpe,
}

/// <summary>
/// A token matched in raw text before normalization (HF "added tokens"), special or not. LStrip/RStrip: the match
/// also takes the whitespace before/after it (Phi-3's chat tokens).
/// </summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false);

/// <summary>When HF's Metaspace pre-tokenizer (split=false) puts '▁' in front of a segment.</summary>
internal enum MetaspacePrepend
{
    Always,

    /// <summary>Only on the segment at the very start of the text (not after an added token).</summary>
    First,

    Never,
}

/// <summary>HF's Strip decoder step: remove up to <see cref="Start"/> leading <see cref="Content"/> characters.</summary>
internal sealed record StripStep(char Content, int Start);

/// <summary>
/// Everything a tokenizer folder says, in the vocabulary of the recipes we support: read from tokenizer.json,
/// tokenizer.model or vocab.json+merges.txt, then turned into an <see cref="HdxTokenizer"/>.
/// </summary>
internal sealed class TokenizerDefinition
{
    public required string Source { get; init; }

    public required TokenizerRecipe Recipe { get; init; }

    public required IReadOnlyDictionary<string, int> Vocab { get; init; }

    /// <summary>Merges in rank order, as "left right".</summary>
    public required IReadOnlyList<string> Merges { get; init; }

    public required IReadOnlyList<AddedToken> AddedTokens { get; init; }

    public required TextNormalizer Normalizer { get; init; }

    /// <summary>Split regexes (HF Split, behaviour Isolated) applied in sequence on whole code points.</summary>
    public required IReadOnlyList<string> SplitPatterns { get; init; }

    /// <summary>HF's Metaspace pre-tokenizer without splitting: spaces become '▁', then this prefix rule (null: none).</summary>
    public MetaspacePrepend? Metaspace { get; init; }

    public bool IgnoreMerges { get; init; }

    public bool ByteFallback { get; init; }

    public string? UnknownToken { get; init; }

    public bool FuseUnknown { get; init; }

    /// <summary>SentencePiece decoding: strip of the leading space that the dummy prefix added (null: none).</summary>
    public StripStep? DecoderStrip { get; init; }

    /// <summary>Ids the post-processor puts before / after the text when special tokens are added.</summary>
    public required IReadOnlyList<int> Prefix { get; init; }

    public required IReadOnlyList<int> Suffix { get; init; }

    public int? BosTokenId { get; init; }

    public required IReadOnlyList<int> EosTokenIds { get; init; }
}
