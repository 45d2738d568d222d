namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// A model's tokenizer, token-exact with HuggingFace. Built by the tokenizer loader from a folder of HF tokenizer
/// files; Microsoft.ML.Tokenizers types never appear in this API (they live in the module's private load context).
/// Thread-safe: one instance serves concurrent generations.
/// </summary>
public interface IHdxTokenizer
{
    /// <summary>Which family recipe was chosen, e.g. "ByteLevelBpe" or "SentencePieceBpe".</summary>
    string Kind { get; }

    /// <summary>Number of ids (base vocabulary plus added tokens).</summary>
    int VocabSize { get; }

    int? BosTokenId { get; }

    /// <summary>EOS ids declared by the tokenizer files (the generation config may add more).</summary>
    IReadOnlyList<int> EosTokenIds { get; }

    bool IsSpecialToken(int id);

    /// <summary>
    /// At least the length (UTF-16 chars) of text one token can cover, with room for normalization: a text longer
    /// than n × this needs more than n tokens, so a prompt can be refused before it is tokenized. int.MaxValue when
    /// no bound holds (added tokens that swallow surrounding whitespace).
    /// </summary>
    int MaxTokenChars { get; }

    /// <summary>Encodes as HF's tokenizer(text, add_special_tokens=...) does.</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Decodes as HF's tokenizer.decode(ids, skip_special_tokens=...) does.</summary>
    string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false);

    /// <summary>A streaming decoder for one generation (HF TextStreamer semantics).</summary>
    IIncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true);
}

/// <summary>
/// Turns a stream of generated ids into text pieces: each push returns exactly the text that became printable
/// (never half a UTF-8 character or half a byte-fallback sequence); the concatenation of all pieces plus
/// <see cref="Flush"/> equals Decode(all ids).
/// </summary>
public interface IIncrementalDecoder
{
    string Push(int tokenId);

    /// <summary>Whatever is still held back at the end of generation.</summary>
    string Flush();
}
