using System.Text;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// A loaded tokenizer: added-token split, per-segment normalization, the recipe's BPE model, the post-processor's
/// special tokens; decoding through the recipe's <see cref="DecodeStream"/>. Immutable after construction, so one
/// instance serves any number of threads.
/// </summary>
internal sealed class HdxTokenizer : IHdxTokenizer
{
    private readonly TokenizerDefinition _definition;
    private readonly AddedTokenSplitter _splitter;
    private readonly IBpeModel _model;
    private readonly bool[] _special;
    private readonly string[] _pieces;
    private readonly byte[][]? _byteLevelBytes;
    private readonly short[]? _byteValue;

    public HdxTokenizer(TokenizerDefinition definition, IBpeModel model)
    {
        _definition = definition;
        _model = model;
        _splitter = new AddedTokenSplitter(definition.AddedTokens);

        int size = Math.Max(definition.Vocab.Count == 0 ? 0 : definition.Vocab.Values.Max() + 1,
            definition.AddedTokens.Count == 0 ? 0 : definition.AddedTokens.Max(t => t.Id) + 1);
        _pieces = new string[size];
        _special = new bool[size];
        foreach (var (token, id) in definition.Vocab)
        {
            _pieces[id] = token;
        }

        foreach (var added in definition.AddedTokens)
        {
            _pieces[added.Id] = added.Content;
            _special[added.Id] = added.Special;
        }

        for (int id = 0; id < size; id++)
        {
            _pieces[id] ??= string.Empty; // a hole in the id space decodes to nothing, as in HF
        }

        // 4 ×: a normalizer may compose several characters into one (NFC), and a byte-level character is one byte.
        MaxTokenChars = definition.AddedTokens.Any(t => t.LStrip || t.RStrip)
            ? int.MaxValue
            : (4 * Math.Max(1, _pieces.Max(p => p.Length))) + 4;
        if (definition.Recipe == TokenizerRecipe.ByteLevelBpe)
        {
            _byteLevelBytes = _pieces.Select(p => ByteLevelAlphabet.ToBytes(p) ?? Encoding.UTF8.GetBytes(p)).ToArray();
        }
        else
        {
            _byteValue = _pieces.Select(ByteFallbackValue).ToArray();
        }
    }

    public string Kind => _definition.Recipe.ToString();

    public int VocabSize => _pieces.Length;

    public int? BosTokenId => _definition.BosTokenId;

    public IReadOnlyList<int> EosTokenIds => _definition.EosTokenIds;

    public int MaxTokenChars { get; }

    public bool IsSpecialToken(int id) => (uint)id < (uint)_special.Length && _special[id];

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(_definition.Prefix);
        }

        _splitter.Split(text,
            (segment, offset) =>
            {
                string normalized = Metaspace(_definition.Normalizer.Normalize(segment), offset);
                if (normalized.Length > 0)
                {
                    _model.Encode(normalized, ids);
                }
            },
            token => ids.Add(token.Id));

        if (addSpecialTokens)
        {
            ids.AddRange(_definition.Suffix);
        }

        return ids.ToArray();
    }

    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var stream = CreateStream(skipSpecialTokens);
        var output = new StringBuilder();
        foreach (int id in ids)
        {
            CheckId(id);
            stream.Push(id, output);
        }

        stream.Flush(output);
        return output.ToString();
    }

    public IIncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true) =>
        new IncrementalDecoder(CreateStream(skipSpecialTokens), CheckId);

    /// <summary>HF's Metaspace pre-tokenizer (split=false): spaces as '▁', and a '▁' in front unless one is there.</summary>
    private string Metaspace(string text, int offset)
    {
        if (_definition.Metaspace is not { } prepend || text.Length == 0)
        {
            return text;
        }

        text = text.Replace(' ', '\u2581');
        bool add = prepend == MetaspacePrepend.Always || (prepend == MetaspacePrepend.First && offset == 0);
        return add && text[0] != '\u2581' ? '\u2581' + text : text;
    }

    private DecodeStream CreateStream(bool skipSpecialTokens)
    {
        Func<int, bool> skip = skipSpecialTokens ? IsSpecialToken : static _ => false;
        return _byteLevelBytes is not null
            ? new ByteLevelDecodeStream(_byteLevelBytes, skip)
            : new SentencePieceDecodeStream(_pieces, _byteValue!, _definition.DecoderStrip, skip);
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)_pieces.Length)
        {
            throw new HdxException("TokenIdOutOfRange", HdxErrorKind.InvalidArgument,
                $"Token id {id} is outside this tokenizer's vocabulary (0..{_pieces.Length - 1}).", id);
        }
    }

    /// <summary>HF's ByteFallback decoder treats any token spelled &lt;0xXX&gt; as that byte.</summary>
    private static short ByteFallbackValue(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte value)
            ? value
            : (short)-1;
}
