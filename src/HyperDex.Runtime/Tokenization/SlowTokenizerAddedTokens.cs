namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Added tokens of folders without tokenizer.json (tokenizer.model, vocab.json + merges.txt), as transformers
/// registers them: those of the model itself, then tokenizer_config.json's added_tokens_decoder (with its flags),
/// then added_tokens.json (content → id; special when it is the bos/eos/unk token).
/// </summary>
internal static class SlowTokenizerAddedTokens
{
    public const string AddedTokensFile = "added_tokens.json";

    public static List<AddedToken> Merge(IEnumerable<AddedToken> fromModel, string folder, TokenizerConfig config)
    {
        if (config.HasSingleWordToken)
        {
            throw TokenizerJsonReader.Unsupported(Path.Combine(folder, "tokenizer_config.json"), "added_tokens_decoder.single_word",
                "added tokens with single_word are not supported");
        }

        var byId = new SortedDictionary<int, AddedToken>();
        foreach (var token in fromModel.Concat(config.AddedTokens))
        {
            byId[token.Id] = token;
        }

        string path = Path.Combine(folder, AddedTokensFile);
        if (File.Exists(path))
        {
            using var document = TokenizerJsonReader.ParseFile(path);
            var specials = new[] { config.BosToken, config.EosToken, config.UnknownToken };
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                int id = entry.Value.GetInt32();
                byId.TryAdd(id, new AddedToken(id, entry.Name, specials.Contains(entry.Name)));
            }
        }

        return byId.Values.ToList();
    }
}
