using System.Text;
using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Reads HF tokenizer.json into a <see cref="TokenizerDefinition"/>. Every component is mapped onto a recipe we
/// reproduce exactly; anything else is refused with an error naming the component, never approximated.
/// </summary>
internal static class TokenizerJsonReader
{
    public const string FileName = "tokenizer.json";

    public static TokenizerDefinition Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        using var document = ParseFile(path);
        var root = document.RootElement;
        var model = Required(root, "model", path);

        string modelType = Text(model, "type") ?? "BPE";
        if (modelType != "BPE")
        {
            throw Unsupported(path, $"model.type={modelType}", "only BPE models are supported");
        }

        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
        {
            throw Unsupported(path, "model.dropout", "BPE dropout is not supported");
        }

        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (!string.IsNullOrEmpty(Text(model, affix)))
            {
                throw Unsupported(path, $"model.{affix}", "subword prefixes and suffixes are not supported");
            }
        }

        var vocab = ReadVocab(Required(model, "vocab", path), path);
        var merges = ReadMerges(Required(model, "merges", path), path);
        var added = ReadAddedTokens(root, path, out bool anyNormalized);

        var normalizer = TextNormalizer.Of(NormalizerSteps(Property(root, "normalizer"), path, "normalizer"));
        var (byteLevel, patterns, metaspace) = ReadPreTokenizer(Property(root, "pre_tokenizer"), path);
        var (decoderByteLevel, strip) = ReadDecoder(Property(root, "decoder"), path);
        bool byteFallback = Flag(model, "byte_fallback");
        bool ignoreMerges = Flag(model, "ignore_merges");

        if (byteLevel != decoderByteLevel)
        {
            throw Unsupported(path, "decoder", "a ByteLevel pre-tokenizer needs the ByteLevel decoder and the other way round");
        }

        if (byteLevel && byteFallback)
        {
            throw Unsupported(path, "model.byte_fallback", "byte fallback on a byte-level vocabulary is not supported");
        }

        if (!byteLevel && ignoreMerges)
        {
            throw Unsupported(path, "model.ignore_merges", "ignore_merges is supported for byte-level vocabularies only");
        }

        if (!normalizer.IsIdentity && anyNormalized)
        {
            throw Unsupported(path, "added_tokens.normalized",
                "added tokens matched after normalization are not supported together with a normalizer");
        }

        var config = TokenizerConfig.Read(folder);
        var ids = new TokenIds(vocab, added);
        var (prefix, suffix) = ReadTemplate(Property(root, "post_processor"), path);
        if (config.OverridesTemplate)
        {
            (prefix, suffix) = Template(config, ids, addBosDefault: true);
        }

        return new TokenizerDefinition
        {
            Source = path,
            Recipe = byteLevel ? TokenizerRecipe.ByteLevelBpe : TokenizerRecipe.SentencePieceBpe,
            Vocab = vocab,
            Merges = merges,
            AddedTokens = added,
            Normalizer = normalizer,
            SplitPatterns = patterns,
            IgnoreMerges = ignoreMerges,
            Metaspace = metaspace,
            ByteFallback = byteFallback,
            UnknownToken = Text(model, "unk_token"),
            FuseUnknown = Flag(model, "fuse_unk"),
            DecoderStrip = strip,
            Prefix = prefix,
            Suffix = suffix,
            BosTokenId = ids.Find(config.BosToken) ?? (prefix.Count > 0 ? prefix[0] : null),
            EosTokenIds = ids.Find(config.EosToken) is int eos ? [eos] : suffix.ToArray(),
        };
    }

    /// <summary>transformers' Llama/Gemma rule: [bos if add_bos_token] text [eos if add_eos_token].</summary>
    internal static (IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix) Template(TokenizerConfig config, TokenIds ids, bool addBosDefault)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if ((config.AddBosToken ?? addBosDefault) && ids.Find(config.BosToken) is int bos)
        {
            prefix.Add(bos);
        }

        if ((config.AddEosToken ?? false) && ids.Find(config.EosToken) is int eos)
        {
            suffix.Add(eos);
        }

        return (prefix, suffix);
    }

    internal static JsonDocument ParseFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new HdxException("TokenizerFileInvalid", HdxErrorKind.InvalidData,
                $"'{path}' is not valid JSON: {e.Message}", path, innerException: e);
        }
        catch (IOException e)
        {
            throw new HdxException("TokenizerFileUnreadable", HdxErrorKind.ReadError,
                $"Cannot read '{path}': {e.Message}", path, innerException: e);
        }
    }

    internal static HdxException Unsupported(string path, string component, string why) =>
        new("TokenizerUnsupported", HdxErrorKind.NotSupported,
            $"Unsupported tokenizer component '{component}' in '{path}': {why}. HyperDex refuses tokenizers it cannot reproduce exactly.",
            path, "Use a model whose tokenizer is byte-level BPE or SentencePiece-style BPE (see about_HyperDex).");

    private static Dictionary<string, int> ReadVocab(JsonElement vocab, string path)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "model.vocab is not an object");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            result[entry.Name] = entry.Value.GetInt32();
        }

        return result;
    }

    private static List<string> ReadMerges(JsonElement merges, string path)
    {
        var result = new List<string>(merges.GetArrayLength());
        foreach (var merge in merges.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0 || text.IndexOf(' ', space + 1) >= 0)
                {
                    throw Unsupported(path, "model.merges", $"the merge '{text}' is not two tokens separated by one space");
                }

                result.Add(text);
                continue;
            }

            if (merge.ValueKind != JsonValueKind.Array || merge.GetArrayLength() != 2)
            {
                throw Invalid(path, "model.merges holds an entry that is neither \"a b\" nor [a, b]");
            }

            left = merge[0].GetString()!;
            right = merge[1].GetString()!;
            if (left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
            {
                throw Unsupported(path, "model.merges", $"the merge ['{left}', '{right}'] has a token with a space");
            }

            result.Add(left + " " + right);
        }

        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path, out bool anyNormalized)
    {
        var result = new List<AddedToken>();
        anyNormalized = false;
        if (Property(root, "added_tokens") is not { ValueKind: JsonValueKind.Array } tokens)
        {
            return result;
        }

        foreach (var token in tokens.EnumerateArray())
        {
            string content = Text(token, "content") ?? throw Invalid(path, "an added token has no content");
            if (Flag(token, "single_word"))
            {
                throw Unsupported(path, "added_tokens.single_word", $"the added token '{content}' uses single_word");
            }

            anyNormalized |= Flag(token, "normalized");
            result.Add(new AddedToken(Required(token, "id", path).GetInt32(), content, Flag(token, "special"),
                Flag(token, "lstrip"), Flag(token, "rstrip")));
        }

        return result;
    }

    private static Func<string, string>[] NormalizerSteps(JsonElement? normalizer, string path, string where)
    {
        if (normalizer is not { ValueKind: JsonValueKind.Object } n)
        {
            return [];
        }

        string type = Text(n, "type") ?? "";
        return type switch
        {
            "NFC" => [TextNormalizer.Unicode(NormalizationForm.FormC)],
            "NFKC" => [TextNormalizer.Unicode(NormalizationForm.FormKC)],
            "NFD" => [TextNormalizer.Unicode(NormalizationForm.FormD)],
            "NFKD" => [TextNormalizer.Unicode(NormalizationForm.FormKD)],
            "Prepend" => [TextNormalizer.Prepend(Text(n, "prepend") ?? throw Invalid(path, $"{where}.prepend is missing"))],
            "Replace" => [TextNormalizer.Replace(StringPattern(n, path, $"{where}(Replace)"), Text(n, "content") ?? "")],
            "Sequence" => Required(n, "normalizers", path).EnumerateArray()
                .SelectMany((child, i) => NormalizerSteps(child, path, $"{where}.normalizers[{i}]")).ToArray(),
            _ => throw Unsupported(path, $"{where}({type})", $"the {type} normalizer is not supported"),
        };
    }

    private static (bool ByteLevel, List<string> Patterns, MetaspacePrepend? Metaspace) ReadPreTokenizer(JsonElement? preTokenizer, string path)
    {
        var patterns = new List<string>();
        if (preTokenizer is not { ValueKind: JsonValueKind.Object } p)
        {
            return (false, patterns, null);
        }

        if (Text(p, "type") == "Metaspace")
        {
            return (false, patterns, ReadMetaspace(p, path));
        }

        bool byteLevel = false;
        var steps = Text(p, "type") == "Sequence"
            ? Required(p, "pretokenizers", path).EnumerateArray().ToList()
            : [p];
        foreach (var step in steps)
        {
            string type = Text(step, "type") ?? "";
            switch (type)
            {
                case "Split":
                    if (Text(step, "behavior") != "Isolated" || Flag(step, "invert"))
                    {
                        throw Unsupported(path, "pre_tokenizer(Split).behavior",
                            $"only behavior Isolated without invert is supported, not {Text(step, "behavior")}");
                    }

                    var pattern = Required(step, "pattern", path);
                    patterns.Add(Text(pattern, "Regex") ?? System.Text.RegularExpressions.Regex.Escape(
                        Text(pattern, "String") ?? throw Invalid(path, "pre_tokenizer(Split).pattern is empty")));
                    break;
                case "ByteLevel":
                    if (byteLevel)
                    {
                        throw Unsupported(path, "pre_tokenizer(ByteLevel)", "ByteLevel appears twice");
                    }

                    if (Flag(step, "add_prefix_space"))
                    {
                        throw Unsupported(path, "pre_tokenizer(ByteLevel).add_prefix_space", "add_prefix_space is not supported");
                    }

                    byteLevel = true;
                    if (!step.TryGetProperty("use_regex", out var useRegex) || useRegex.ValueKind != JsonValueKind.False)
                    {
                        patterns.Add(CodePointSplitPreTokenizer.Gpt2Pattern);
                    }

                    break;
                default:
                    throw Unsupported(path, $"pre_tokenizer({type})", $"the {type} pre-tokenizer is not supported");
            }
        }

        if (!byteLevel && patterns.Count > 0)
        {
            throw Unsupported(path, "pre_tokenizer(Split)", "a Split pre-tokenizer without ByteLevel is not supported");
        }

        return (byteLevel, patterns, null);
    }

    /// <summary>Metaspace with '▁' and split=false, as transformers writes for Llama/Mistral with legacy=false.</summary>
    private static MetaspacePrepend ReadMetaspace(JsonElement metaspace, string path)
    {
        if (Text(metaspace, "replacement") != "\u2581")
        {
            throw Unsupported(path, "pre_tokenizer(Metaspace).replacement", "only the replacement '\u2581' is supported");
        }

        if (!metaspace.TryGetProperty("split", out var split) || split.ValueKind != JsonValueKind.False)
        {
            throw Unsupported(path, "pre_tokenizer(Metaspace).split", "only Metaspace with split=false is supported");
        }

        string scheme = Text(metaspace, "prepend_scheme") ?? (Flag(metaspace, "add_prefix_space") ? "always" : "never");
        return scheme switch
        {
            "always" => MetaspacePrepend.Always,
            "first" => MetaspacePrepend.First,
            "never" => MetaspacePrepend.Never,
            _ => throw Unsupported(path, $"pre_tokenizer(Metaspace).prepend_scheme={scheme}", "unknown prepend scheme"),
        };
    }

    /// <summary>ByteLevel, or SentencePiece's Sequence[Replace(▁→' '), ByteFallback, Fuse, Strip(' ', n, 0)?].</summary>
    private static (bool ByteLevel, StripStep? Strip) ReadDecoder(JsonElement? decoder, string path)
    {
        if (decoder is not { ValueKind: JsonValueKind.Object } d)
        {
            throw Unsupported(path, "decoder(null)", "a tokenizer without a decoder is not supported");
        }

        string type = Text(d, "type") ?? "";
        if (type == "ByteLevel")
        {
            return (true, null);
        }

        if (type != "Sequence")
        {
            throw Unsupported(path, $"decoder({type})", $"the {type} decoder is not supported");
        }

        var steps = Required(d, "decoders", path).EnumerateArray().ToList();
        string[] expected = ["Replace", "ByteFallback", "Fuse"];
        StripStep? strip = null;
        for (int i = 0; i < steps.Count; i++)
        {
            string step = Text(steps[i], "type") ?? "";
            if (i < expected.Length && step == expected[i])
            {
                if (step == "Replace" && (StringPattern(steps[i], path, "decoder(Replace)") != "\u2581" || Text(steps[i], "content") != " "))
                {
                    throw Unsupported(path, "decoder(Replace)", "only the replacement of '\u2581' by ' ' is supported");
                }

                continue;
            }

            if (i == expected.Length && step == "Strip" && Text(steps[i], "content") == " "
                && steps[i].TryGetProperty("stop", out var stop) && stop.GetInt32() == 0)
            {
                strip = new StripStep(' ', Required(steps[i], "start", path).GetInt32());
                continue;
            }

            throw Unsupported(path, $"decoder.decoders[{i}]({step})",
                "only Sequence[Replace('\u2581',' '), ByteFallback, Fuse, Strip(' ', n, 0)] is supported");
        }

        if (steps.Count < expected.Length)
        {
            throw Unsupported(path, "decoder(Sequence)", "the SentencePiece decoder sequence is incomplete");
        }

        return (false, strip);
    }

    /// <summary>The ids TemplateProcessing puts around a single sequence ($A).</summary>
    private static (IReadOnlyList<int>, IReadOnlyList<int>) ReadTemplate(JsonElement? processor, string path)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (processor is not { ValueKind: JsonValueKind.Object } p)
        {
            return (prefix, suffix);
        }

        string type = Text(p, "type") ?? "";
        var processors = type == "Sequence" ? Required(p, "processors", path).EnumerateArray().ToList() : [p];
        bool seenTemplate = false;
        foreach (var step in processors)
        {
            string stepType = Text(step, "type") ?? "";
            if (stepType == "ByteLevel")
            {
                continue; // only affects offsets
            }

            if (stepType != "TemplateProcessing" || seenTemplate)
            {
                throw Unsupported(path, $"post_processor({stepType})", $"the {stepType} post-processor is not supported");
            }

            seenTemplate = true;
            var specials = Required(step, "special_tokens", path);
            bool afterSequence = false;
            foreach (var piece in Required(step, "single", path).EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _))
                {
                    afterSequence = true;
                    continue;
                }

                string name = Text(Required(piece, "SpecialToken", path), "id") ?? throw Invalid(path, "a template special token has no id");
                if (!specials.TryGetProperty(name, out var special))
                {
                    throw Invalid(path, $"post_processor uses '{name}', which its special_tokens do not define");
                }

                (afterSequence ? suffix : prefix).AddRange(Required(special, "ids", path).EnumerateArray().Select(e => e.GetInt32()));
            }
        }

        return (prefix, suffix);
    }

    private static string StringPattern(JsonElement element, string path, string where)
    {
        var pattern = Required(element, "pattern", path);
        return Text(pattern, "String") ?? throw Unsupported(path, where + ".pattern", "only plain string patterns are supported");
    }

    private static JsonElement? Property(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static JsonElement Required(JsonElement element, string name, string path) =>
        Property(element, name) ?? throw Invalid(path, $"'{name}' is missing");

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Flag(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static HdxException Invalid(string path, string what) =>
        new("TokenizerFileInvalid", HdxErrorKind.InvalidData, $"'{path}' is not a valid tokenizer file: {what}.", path);
}

/// <summary>Looks token strings up: added tokens first, then the vocabulary.</summary>
internal sealed class TokenIds
{
    private readonly IReadOnlyDictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _added;

    public TokenIds(IReadOnlyDictionary<string, int> vocab, IEnumerable<AddedToken> added)
    {
        _vocab = vocab;
        _added = added.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
    }

    public int? Find(string? token) =>
        token is null ? null : _added.TryGetValue(token, out int id) || _vocab.TryGetValue(token, out id) ? id : null;
}
