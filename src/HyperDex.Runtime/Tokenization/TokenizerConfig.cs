using System.Text.Json;

namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// The parts of transformers' tokenizer_config.json (and special_tokens_map.json) that change token ids:
/// add_bos_token/add_eos_token and the declared bos/eos/unk tokens.
/// </summary>
internal sealed class TokenizerConfig
{
    /// <summary>transformers classes whose fast tokenizer rebuilds its post-processor from add_bos/add_eos_token.</summary>
    private static readonly HashSet<string> BosEosClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
        "GemmaTokenizer", "GemmaTokenizerFast",
    };

    public string? TokenizerClass { get; private init; }

    public bool? AddBosToken { get; private init; }

    public bool? AddEosToken { get; private init; }

    public string? BosToken { get; private init; }

    public string? EosToken { get; private init; }

    public string? UnknownToken { get; private init; }

    /// <summary>transformers' Llama "legacy" flag (null when the config does not say).</summary>
    public bool? Legacy { get; private init; }

    public bool? AddPrefixSpace { get; private init; }

    /// <summary>added_tokens_decoder: the added tokens transformers registers for slow-tokenizer files.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; private init; } = [];

    /// <summary>Whether some added token of added_tokens_decoder uses single_word (not supported).</summary>
    public bool HasSingleWordToken { get; private init; }

    /// <summary>The chat templates of tokenizer_config.json by name ("default" for a single one); empty when none.</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates { get; private init; } = new Dictionary<string, string>();

    /// <summary>
    /// transformers' special_tokens_map: bos/eos/unk/sep/pad/cls/mask token texts and additional_special_tokens, as
    /// apply_chat_template passes them to the template.
    /// </summary>
    public IReadOnlyDictionary<string, object> SpecialTokenTexts { get; private init; } = new Dictionary<string, object>();

    private static readonly string[] SpecialTokenNames =
        ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    /// <summary>Whether add_bos_token/add_eos_token decide the template (transformers' Llama and Gemma classes).</summary>
    public bool OverridesTemplate => TokenizerClass is not null && BosEosClasses.Contains(TokenizerClass)
        && (AddBosToken is not null || AddEosToken is not null);

    /// <summary>This config with bos/eos filled in where it declares none.</summary>
    public TokenizerConfig WithDefaults(string? bosToken, string? eosToken) => new()
    {
        TokenizerClass = TokenizerClass,
        AddBosToken = AddBosToken,
        AddEosToken = AddEosToken,
        BosToken = BosToken ?? bosToken,
        EosToken = EosToken ?? eosToken,
        UnknownToken = UnknownToken,
        Legacy = Legacy,
        AddPrefixSpace = AddPrefixSpace,
        AddedTokens = AddedTokens,
        HasSingleWordToken = HasSingleWordToken,
        ChatTemplates = ChatTemplates,
        SpecialTokenTexts = SpecialTokenTexts,
    };

    public static TokenizerConfig Read(string folder)
    {
        using var config = Open(Path.Combine(folder, "tokenizer_config.json"));
        using var map = Open(Path.Combine(folder, "special_tokens_map.json"));
        JsonElement? c = config?.RootElement;
        JsonElement? m = map?.RootElement;
        return new TokenizerConfig
        {
            TokenizerClass = String(c, "tokenizer_class"),
            AddBosToken = Bool(c, "add_bos_token"),
            AddEosToken = Bool(c, "add_eos_token"),
            BosToken = TokenText(c, "bos_token") ?? TokenText(m, "bos_token"),
            EosToken = TokenText(c, "eos_token") ?? TokenText(m, "eos_token"),
            UnknownToken = TokenText(c, "unk_token") ?? TokenText(m, "unk_token"),
            Legacy = Bool(c, "legacy"),
            AddPrefixSpace = Bool(c, "add_prefix_space"),
            AddedTokens = AddedTokensDecoderEntries(c).Select(e => e.Token).ToList(),
            HasSingleWordToken = AddedTokensDecoderEntries(c).Any(e => e.SingleWord),
            ChatTemplates = ChatTemplateEntries(c),
            SpecialTokenTexts = SpecialTokens(c, m),
        };
    }

    /// <summary>chat_template is one template (a string) or a list of {name, template}.</summary>
    private static Dictionary<string, string> ChatTemplateEntries(JsonElement? root)
    {
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root is not { ValueKind: JsonValueKind.Object } r || !r.TryGetProperty("chat_template", out var value))
        {
            return templates;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            templates["default"] = value.GetString()!;
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in value.EnumerateArray())
            {
                if (String(entry, "name") is { } name && String(entry, "template") is { } template)
                {
                    templates[name] = template;
                }
            }
        }

        return templates;
    }

    private static Dictionary<string, object> SpecialTokens(JsonElement? config, JsonElement? map)
    {
        var tokens = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (string name in SpecialTokenNames)
        {
            if ((TokenText(config, name) ?? TokenText(map, name)) is { } text)
            {
                tokens[name] = text;
            }
        }

        foreach (var root in new[] { config, map })
        {
            if (root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty("additional_special_tokens", out var list)
                && list.ValueKind == JsonValueKind.Array)
            {
                tokens["additional_special_tokens"] = list.EnumerateArray()
                    .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : String(e, "content"))
                    .OfType<string>().ToList();
                break;
            }
        }

        return tokens;
    }

    private static IEnumerable<(AddedToken Token, bool SingleWord)> AddedTokensDecoderEntries(JsonElement? root)
    {
        if (root is not { ValueKind: JsonValueKind.Object } r || !r.TryGetProperty("added_tokens_decoder", out var decoder)
            || decoder.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        foreach (var entry in decoder.EnumerateObject())
        {
            if (int.TryParse(entry.Name, out int id) && entry.Value.ValueKind == JsonValueKind.Object
                && String(entry.Value, "content") is { } content)
            {
                yield return (new AddedToken(id, content, Flag(entry.Value, "special"), Flag(entry.Value, "lstrip"), Flag(entry.Value, "rstrip")),
                    Flag(entry.Value, "single_word"));
            }
        }
    }

    private static bool Flag(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static JsonDocument? Open(string path) =>
        File.Exists(path) ? TokenizerJsonReader.ParseFile(path) : null;

    private static string? String(JsonElement? root, string name) =>
        root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static bool? Bool(JsonElement? root, string name) =>
        root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    /// <summary>A special token is either a string or an AddedToken object with "content".</summary>
    private static string? TokenText(JsonElement? root, string name)
    {
        if (root is not { ValueKind: JsonValueKind.Object } r || !r.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }
}
