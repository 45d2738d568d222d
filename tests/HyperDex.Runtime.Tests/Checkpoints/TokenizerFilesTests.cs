using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

public sealed class TokenizerFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hdx-tok-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public void CountsThePiecesOfTheStoriesSentencePieceModel()
    {
        var (pieces, type) = SentencePieceModelFile.Read(File.ReadAllBytes(Path.Combine(SharedData.Require("models/stories260K"), "tokenizer.model")));
        Assert.Equal(512, pieces.Count);
        Assert.Equal(new[] { "<unk>", "<s>", "</s>", "<0x00>" }, pieces.Take(4));
        Assert.Equal("Bpe", type);

        var summary = TokenizerFiles.Inspect(SharedData.Require("models/stories260K"));
        Assert.Equal(("SentencePieceBpe", 512), (summary.Kind, summary.VocabSize));
        Assert.Equal(1, summary.SpecialTokens["bos_token"]);
        Assert.Equal(2, summary.SpecialTokens["eos_token"]);
        Assert.Equal(new[] { "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json" }, summary.Files);
    }

    public static IEnumerable<object[]> RealFamilies => SharedData.Cases(new TheoryData<string, string, int, string, int>
    {
        { "gpt2", "ByteLevelBpe", 50257, "<|endoftext|>", 50256 },
        { "llama2", "SentencePieceBpe", 32000, "</s>", 2 },
        { "llama3_1", "ByteLevelBpe", 128256, "<|eot_id|>", 128009 },
        { "mistral", "SentencePieceBpe", 32000, "</s>", 2 },
        { "qwen3", "ByteLevelBpe", 151669, "<|im_end|>", 151645 },
        { "gemma-256k", "SentencePieceBpe", 256000, "<eos>", 1 },
    });

    [SkippableTheory]
    [MemberData(nameof(RealFamilies))]
    public void ReadsTheSizeAndSpecialTokensOfRealTokenizerFamilies(string family, string kind, int size, string eos, int eosId)
    {
        var summary = TokenizerFiles.Inspect(SharedData.Require("tokenizers/" + family));
        Assert.Equal((kind, size), (summary.Kind, summary.VocabSize));
        Assert.Equal(eosId, summary.SpecialTokens["eos_token"]);
        Assert.NotNull(eos);
    }

    [Fact]
    public void ReadsTheGeneratedByteLevelTokenizer()
    {
        var spec = new TinyModelSpec();
        TinyModel.Write(_folder, spec);
        var summary = TokenizerFiles.Inspect(_folder);
        Assert.Equal(("ByteLevelBpe", 274), (summary.Kind, summary.VocabSize));
        Assert.Equal(TinyModel.BosId(spec), summary.SpecialTokens["bos_token"]);
        Assert.Equal(TinyModel.EosId(spec), summary.SpecialTokens["eos_token"]);
    }

    [Fact]
    public void RejectsACorruptSentencePieceModel()
    {
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"), new byte[] { 0x0A, 0x7F, 0x01 });
        Assert.Equal("TokenizerInvalid", Assert.Throws<HdxException>(() => TokenizerFiles.Inspect(_folder)).ErrorId);
    }

    [Fact]
    public void RejectsMalformedTokenizerJson()
    {
        File.WriteAllText(Path.Combine(_folder, "tokenizer.json"), "{\"model\": {}}");
        Assert.Equal("TokenizerInvalid", Assert.Throws<HdxException>(() => TokenizerFiles.Inspect(_folder)).ErrorId);
    }

    [Fact]
    public void ReportsAFolderWithoutTokenizer() =>
        Assert.Equal("TokenizerNotFound", Assert.Throws<HdxException>(() => TokenizerFiles.Inspect(_folder)).ErrorId);
}
