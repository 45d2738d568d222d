using Google.Protobuf;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Reads a SentencePiece BPE tokenizer.model (protobuf ModelProto) into the same exact BPE recipe as a converted
/// tokenizer.json: merges derived from piece scores the way HF's SentencePieceExtractor does, control and unknown
/// pieces as special tokens, user-defined pieces as added tokens, the dummy prefix and spaces as ▁ (legacy or not).
/// </summary>
internal static class SentencePieceModelReader
{
    public const string FileName = "tokenizer.model";

    private const int Normal = 1;
    private const int Unknown = 2;
    private const int Control = 3;
    private const int UserDefined = 4;

    public static TokenizerDefinition Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        var model = Parse(path);
        if (model.ModelType != 2)
        {
            throw TokenizerJsonReader.Unsupported(path, $"trainer_spec.model_type={model.ModelType}",
                "only SentencePiece BPE models (model_type 2) are supported, not Unigram, word or char models");
        }

        if (model.TreatWhitespaceAsSuffix)
        {
            throw TokenizerJsonReader.Unsupported(path, "trainer_spec.treat_whitespace_as_suffix", "whitespace as suffix is not supported");
        }

        if (model.NormalizerName is not ("identity" or "") && model.HasCharsMap)
        {
            throw TokenizerJsonReader.Unsupported(path, $"normalizer_spec.name={model.NormalizerName}",
                "only the identity normalization rule is supported");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new List<AddedToken>();
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            var (piece, _, type) = model.Pieces[id];
            vocab.TryAdd(piece, id);
            if (type is Control or Unknown or UserDefined)
            {
                added.Add(new AddedToken(id, piece, Special: type != UserDefined));
            }
        }

        // As transformers' LlamaConverter builds the fast tokenizer AutoTokenizer uses. Legacy mode: Prepend("▁") when
        // the model adds a dummy prefix, then spaces as "▁". With legacy=false: a Metaspace pre-tokenizer that adds the
        // prefix only at the start of the text. remove_extra_whitespaces is ignored there, and so here.
        var tokenizerConfig = TokenizerConfig.Read(folder);
        bool dummyPrefix = model.AddDummyPrefix && tokenizerConfig.AddPrefixSpace != false;
        bool legacy = tokenizerConfig.Legacy != false;
        var steps = new List<Func<string, string>>();
        if (legacy)
        {
            if (dummyPrefix)
            {
                steps.Add(TextNormalizer.Prepend("\u2581"));
            }

            steps.Add(TextNormalizer.Replace(" ", "\u2581"));
        }

        string? PieceAt(int id) => id >= 0 && id < model.Pieces.Count ? model.Pieces[id].Piece : null;
        var config = tokenizerConfig.WithDefaults(PieceAt(model.BosId), PieceAt(model.EosId));
        added = SlowTokenizerAddedTokens.Merge(added, folder, config);
        var ids = new TokenIds(vocab, added);
        var (prefix, suffix) = TokenizerJsonReader.Template(config, ids, addBosDefault: true);

        return new TokenizerDefinition
        {
            Source = path,
            Recipe = TokenizerRecipe.SentencePieceBpe,
            Vocab = vocab,
            Merges = Merges(model.Pieces, vocab),
            AddedTokens = added,
            Normalizer = TextNormalizer.Of(steps),
            Metaspace = legacy ? null : dummyPrefix ? MetaspacePrepend.First : MetaspacePrepend.Never,
            SplitPatterns = [],
            ByteFallback = model.ByteFallback,
            UnknownToken = PieceAt(model.UnkId),
            FuseUnknown = true,
            DecoderStrip = dummyPrefix ? new StripStep(' ', 1) : null,
            Prefix = prefix,
            Suffix = suffix,
            BosTokenId = ids.Find(config.BosToken),
            EosTokenIds = ids.Find(config.EosToken) is int eos ? [eos] : [],
        };
    }

    /// <summary>HF's SentencePieceExtractor: every split of a piece into two pieces, by piece score, then ids.</summary>
    private static List<string> Merges(List<(string Piece, float Score, int Type)> pieces, Dictionary<string, int> vocab)
    {
        var merges = new List<(float Score, int Id, int Left, int Right, string Text)>();
        for (int id = 0; id < pieces.Count; id++)
        {
            var (piece, score, _) = pieces[id];
            for (int cut = 1; cut < piece.Length; cut++)
            {
                if (char.IsLowSurrogate(piece[cut]))
                {
                    continue;
                }

                string left = piece[..cut];
                string right = piece[cut..];
                if (vocab.TryGetValue(left, out int l) && vocab.TryGetValue(right, out int r))
                {
                    merges.Add((score, id, l, r, left + " " + right));
                }
            }
        }

        return merges
            .OrderByDescending(m => m.Score).ThenBy(m => m.Id).ThenBy(m => m.Left).ThenBy(m => m.Right)
            .Select(m => m.Text)
            .ToList();
    }

    private sealed record SentencePieceModel(
        List<(string Piece, float Score, int Type)> Pieces,
        int ModelType, bool ByteFallback, bool TreatWhitespaceAsSuffix, int UnkId, int BosId, int EosId,
        string NormalizerName, bool HasCharsMap, bool AddDummyPrefix);

    private static SentencePieceModel Parse(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var input = new CodedInputStream(stream);
            var pieces = new List<(string, float, int)>();
            int modelType = 1, unkId = 0, bosId = 1, eosId = 2;
            bool byteFallback = false, suffix = false, hasCharsMap = false;
            bool dummyPrefix = true;
            string normalizerName = "";
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1:
                        pieces.Add(ReadPiece(input.ReadBytes()));
                        break;
                    case 2:
                        var trainer = new CodedInputStream(input.ReadBytes().ToByteArray());
                        uint t;
                        while ((t = trainer.ReadTag()) != 0)
                        {
                            switch (WireFormat.GetTagFieldNumber(t))
                            {
                                case 3: modelType = trainer.ReadEnum(); break;
                                case 24: suffix = trainer.ReadBool(); break;
                                case 35: byteFallback = trainer.ReadBool(); break;
                                case 40: unkId = trainer.ReadInt32(); break;
                                case 41: bosId = trainer.ReadInt32(); break;
                                case 42: eosId = trainer.ReadInt32(); break;
                                default: trainer.SkipLastField(); break;
                            }
                        }

                        break;
                    case 3:
                        var normalizer = new CodedInputStream(input.ReadBytes().ToByteArray());
                        uint n;
                        while ((n = normalizer.ReadTag()) != 0)
                        {
                            switch (WireFormat.GetTagFieldNumber(n))
                            {
                                case 1: normalizerName = normalizer.ReadString(); break;
                                case 2: hasCharsMap = normalizer.ReadBytes().Length > 0; break;
                                case 3: dummyPrefix = normalizer.ReadBool(); break;
                                default: normalizer.SkipLastField(); break;
                            }
                        }

                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }

            if (pieces.Count == 0)
            {
                throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData, $"'{path}' has no pieces.", path);
            }

            return new SentencePieceModel(pieces, modelType, byteFallback, suffix, unkId, bosId, eosId,
                normalizerName, hasCharsMap, dummyPrefix);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData,
                $"'{path}' is not a valid SentencePiece model: {e.Message}", path, innerException: e);
        }
        catch (IOException e)
        {
            throw new HdxException("TokenizerFileUnreadable", HdxErrorKind.ReadError, $"Cannot read '{path}': {e.Message}", path, innerException: e);
        }
    }

    private static (string, float, int) ReadPiece(ByteString bytes)
    {
        var input = new CodedInputStream(bytes.ToByteArray());
        string piece = "";
        float score = 0;
        int type = Normal;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: piece = input.ReadString(); break;
                case 2: score = input.ReadFloat(); break;
                case 3: type = input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }

        return (piece, score, type);
    }
}
