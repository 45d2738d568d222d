using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

public class LoaderTests
{
    private static readonly string[] ConcurrencyFamilies = ["gpt2", "llama2"];

    [Fact]
    public void LoadsAMinimalByteLevelTokenizerAndAddsBos()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", MinimalByteLevelTokenizer.Build().ToJsonString());
        var tokenizer = HdxTokenizerLoader.Load(folder.Path);

        Assert.Equal("ByteLevelBpe", tokenizer.Kind);
        Assert.Equal(263, tokenizer.VocabSize);
        Assert.Equal(261, tokenizer.BosTokenId);
        Assert.True(tokenizer.IsSpecialToken(262));

        // Byte tokens have their byte as id; "in" → 260, " the" → Ġt + he → 258, " é" → three byte tokens.
        int[] ids = tokenizer.Encode("in the é</s>");
        Assert.Equal([261, 260, 258, ' ', 0xC3, 0xA9, 262], ids);
        Assert.Equal("<s>in the é</s>", tokenizer.Decode(ids));
        Assert.Equal("in the é", tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [SkippableFact]
    public void LoadsGpt2FromVocabAndMergesAlone()
    {
        string gpt2 = SharedData.Require("tokenizers/gpt2");
        using var folder = new TempFolder();
        File.Copy(Path.Combine(gpt2, "vocab.json"), Path.Combine(folder.Path, "vocab.json"));
        File.Copy(Path.Combine(gpt2, "merges.txt"), Path.Combine(folder.Path, "merges.txt"));
        File.Copy(Path.Combine(gpt2, "tokenizer_config.json"), Path.Combine(folder.Path, "tokenizer_config.json"));
        var fromPair = HdxTokenizerLoader.Load(folder.Path);
        var fromJson = HdxTokenizerLoader.Load(gpt2);

        string text = "Hello world!<|endoftext|> 𝐀 naïve\n\n  code(x) += 42;";
        Assert.Equal(fromJson.Encode(text), fromPair.Encode(text));
        Assert.Equal(50256, fromPair.BosTokenId);
        Assert.Equal([50256], fromPair.EosTokenIds);
    }

    [Fact]
    public void FindsTheTokenizerOfACompiledModelFolder()
    {
        using var folder = new TempFolder();
        string target = CompiledLayout.Tokenizer(folder.Path);
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "tokenizer.json"), MinimalByteLevelTokenizer.Build().ToJsonString());

        Assert.Equal(target, HdxTokenizerLoader.ResolveFolder(folder.Path));
        Assert.Equal([261, 260, 258], HdxTokenizerLoader.Load(folder.Path).Encode("in the"));
    }

    [Fact]
    public void CachesOneInstancePerFolder()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", MinimalByteLevelTokenizer.Build().ToJsonString());
        Assert.Same(HdxTokenizerLoader.Load(folder.Path), HdxTokenizerLoader.Load(folder.Path + "/"));
    }

    [SkippableFact]
    public void EncodesConcurrentlyLikeSequentially()
    {
        var tokenizers = ConcurrencyFamilies.Select(f => HdxTokenizerLoader.Load(SharedData.Require($"tokenizers/{f}"))).ToArray();
        var texts = Enumerable.Range(0, 64).Select(i => $"sample {i}: 日本語 😀 {new string('!', i % 9)} the quick brown fox {i * 7919}").ToArray();
        foreach (var tokenizer in tokenizers)
        {
            var sequential = texts.Select(t => tokenizer.Encode(t)).ToArray();
            var parallel = new int[texts.Length][];
            Parallel.For(0, texts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, k => parallel[k % texts.Length] = tokenizer.Encode(texts[k % texts.Length]));
            Assert.Equal(sequential, parallel);
        }
    }

    [Fact]
    public void ReportsAMissingFolderAndAFolderWithoutTokenizer()
    {
        using var folder = new TempFolder();
        var missing = Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(Path.Combine(folder.Path, "nope")));
        Assert.Equal("TokenizerFolderNotFound", missing.ErrorId);
        var empty = Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path));
        Assert.Equal("TokenizerNotFound", empty.ErrorId);
        Assert.Equal(HdxErrorKind.NotFound, empty.Kind);
    }

    [Theory]
    [InlineData("model", """{"type":"Unigram","vocab":[],"unk_id":0}""", "model.type=Unigram")]
    [InlineData("normalizer", """{"type":"Lowercase"}""", "normalizer(Lowercase)")]
    [InlineData("normalizer", """{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Strip","strip_left":true,"strip_right":true}]}""", "normalizer.normalizers[1](Strip)")]
    [InlineData("pre_tokenizer", """{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}""", "pre_tokenizer(Metaspace).split")]
    [InlineData("pre_tokenizer", """{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Removed","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}""", "pre_tokenizer(Split).behavior")]
    [InlineData("decoder", """{"type":"WordPiece","prefix":"##","cleanup":true}""", "decoder(WordPiece)")]
    [InlineData("post_processor", """{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0]}""", "post_processor(RobertaProcessing)")]
    public void RefusesAnUnsupportedComponentByName(string property, string json, string component)
    {
        var tokenizer = MinimalByteLevelTokenizer.Build();
        tokenizer[property] = JsonNode.Parse(json);
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", tokenizer.ToJsonString());

        var error = Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path));
        Assert.Equal("TokenizerUnsupported", error.ErrorId);
        Assert.Equal(HdxErrorKind.NotSupported, error.Kind);
        Assert.Contains($"'{component}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportsAnInvalidFile()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", "{ not json");
        Assert.Equal("TokenizerFileInvalid", Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path)).ErrorId);
        folder.Write("tokenizer.json", "{}");
        Assert.Equal("TokenizerFileInvalid", Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path)).ErrorId);
        var inconsistent = MinimalByteLevelTokenizer.Build();
        inconsistent["model"]!["merges"] = new JsonArray("Ġ zz");
        folder.Write("tokenizer.json", inconsistent.ToJsonString());
        Assert.Equal("TokenizerFileInvalid", Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path)).ErrorId);
    }

    [Fact]
    public void RejectsAnIdOutsideTheVocabulary()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", MinimalByteLevelTokenizer.Build().ToJsonString());
        var tokenizer = HdxTokenizerLoader.Load(folder.Path);
        Assert.Equal("TokenIdOutOfRange", Assert.Throws<HdxException>(() => tokenizer.Decode([263])).ErrorId);
        Assert.Equal("TokenIdOutOfRange", Assert.Throws<HdxException>(() => tokenizer.CreateIncrementalDecoder().Push(-1)).ErrorId);
    }
}
