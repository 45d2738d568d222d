namespace HyperDex.Runtime.Tokenization;

/// <summary>
/// Reads a GPT-2 style folder without tokenizer.json (vocab.json + merges.txt, as transformers' slow GPT2Tokenizer
/// uses): byte-level BPE with the GPT-2 regex; bos/eos/unk tokens of tokenizer_config.json become special tokens,
/// plus the added tokens transformers registers (<see cref="SlowTokenizerAddedTokens"/>).
/// </summary>
internal static class VocabMergesReader
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";

    public static TokenizerDefinition Read(string folder)
    {
        string vocabPath = Path.Combine(folder, VocabFile);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        using (var document = TokenizerJsonReader.ParseFile(vocabPath))
        {
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                vocab[entry.Name] = entry.Value.GetInt32();
            }
        }

        string mergesPath = Path.Combine(folder, MergesFile);
        var merges = new List<string>();
        foreach (string line in File.ReadLines(mergesPath))
        {
            if (line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0)
            {
                continue;
            }

            if (line.Split(' ').Length != 2)
            {
                throw TokenizerJsonReader.Unsupported(mergesPath, "merges.txt", $"the line '{line}' is not two tokens separated by one space");
            }

            merges.Add(line);
        }

        var config = TokenizerConfig.Read(folder);
        var declared = new[] { config.BosToken, config.EosToken, config.UnknownToken }
            .Where(t => t is not null && vocab.ContainsKey(t))
            .Distinct()
            .Select(t => new AddedToken(vocab[t!], t!, Special: true));
        var added = SlowTokenizerAddedTokens.Merge(declared, folder, config);
        var ids = new TokenIds(vocab, added);

        return new TokenizerDefinition
        {
            Source = vocabPath,
            Recipe = TokenizerRecipe.ByteLevelBpe,
            Vocab = vocab,
            Merges = merges,
            AddedTokens = added,
            Normalizer = TextNormalizer.Identity,
            SplitPatterns = [CodePointSplitPreTokenizer.Gpt2Pattern],
            Prefix = config.AddBosToken == true && ids.Find(config.BosToken) is int b ? [b] : [],
            Suffix = config.AddEosToken == true && ids.Find(config.EosToken) is int e ? [e] : [],
            BosTokenId = ids.Find(config.BosToken),
            EosTokenIds = ids.Find(config.EosToken) is int eos ? [eos] : [],
        };
    }
}
