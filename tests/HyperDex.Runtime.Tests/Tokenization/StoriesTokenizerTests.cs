using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>
/// stories260K ships only tokenizer.model (512 pieces, byte fallback, legacy Llama). Its reference (EXPECTED.md):
/// the 200 generated ids decode to expected.txt exactly, and expected.txt encodes back to BOS + the same ids.
/// </summary>
public class StoriesTokenizerTests
{
    private static (IHdxTokenizer Tokenizer, int[] Ids, string Text) Load()
    {
        string folder = SharedData.Require("models/stories260K");
        var ids = File.ReadAllText(Path.Combine(folder, "expected_token_ids.txt"))
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        string text = File.ReadAllText(Path.Combine(folder, "expected.txt"));
        return (HdxTokenizerLoader.Load(folder), ids, text);
    }

    [SkippableFact]
    public void LoadsTheSentencePieceModel()
    {
        var (tokenizer, _, _) = Load();
        Assert.Equal("SentencePieceBpe", tokenizer.Kind);
        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal([2], tokenizer.EosTokenIds);
        Assert.True(tokenizer.IsSpecialToken(1));
        Assert.False(tokenizer.IsSpecialToken(300));
    }

    [SkippableFact]
    public void DecodesTheReferenceIdsToTheReferenceText()
    {
        var (tokenizer, ids, text) = Load();
        Assert.Equal(200, ids.Length);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [SkippableFact]
    public void EncodesTheReferenceTextToBosAndTheReferenceIds()
    {
        var (tokenizer, ids, text) = Load();
        Assert.Equal(ids.Prepend(1).ToArray(), tokenizer.Encode(text));
        Assert.Equal(ids, tokenizer.Encode(text, addSpecialTokens: false));
    }

    [SkippableFact]
    public void StreamsTheReferenceIdsToTheReferenceText()
    {
        var (tokenizer, ids, text) = Load();
        var decoder = tokenizer.CreateIncrementalDecoder();
        string streamed = string.Concat(ids.Select(decoder.Push)) + decoder.Flush();
        Assert.Equal(text, streamed);
    }

    [SkippableFact]
    public void KeepsRepeatedSpacesAsTransformersConvertedTokenizerDoes()
    {
        var (tokenizer, _, _) = Load();
        int[] ids = tokenizer.Encode("  Lily  was\n\n happy!!!!  ", addSpecialTokens: false);
        Assert.Equal("  Lily  was\n\n happy!!!!  ", tokenizer.Decode(ids));
    }

    [SkippableFact]
    public void AddsTheDummyPrefixOnlyAtTheStartInTheNonLegacyMode()
    {
        string source = SharedData.Require("models/stories260K");
        using var folder = new TempFolder();
        File.Copy(Path.Combine(source, "tokenizer.model"), Path.Combine(folder.Path, "tokenizer.model"));
        folder.Write("tokenizer_config.json", """{"tokenizer_class": "LlamaTokenizer", "legacy": false}""");
        var nonLegacy = HdxTokenizerLoader.Load(folder.Path);
        var legacy = HdxTokenizerLoader.Load(source);

        // Legacy mode puts "▁" in front of every segment, also after a special token; non-legacy only at the start.
        Assert.Equal(legacy.Encode("Lily", false), nonLegacy.Encode("Lily", false));
        Assert.Equal(legacy.Encode("Lily", false).Prepend(2), legacy.Encode("</s>Lily", false));
        Assert.NotEqual(legacy.Encode("</s>Lily", false), nonLegacy.Encode("</s>Lily", false));
        Assert.Equal("</s>Lily", nonLegacy.Decode(nonLegacy.Encode("</s>Lily", false)));
    }

    [SkippableFact]
    public void RegistersAddedTokensOfTheConfigAndOfAddedTokensJson()
    {
        string source = SharedData.Require("models/stories260K");
        using var folder = new TempFolder();
        File.Copy(Path.Combine(source, "tokenizer.model"), Path.Combine(folder.Path, "tokenizer.model"));
        folder.Write("added_tokens.json", """{"<pad>": 512}""");
        folder.Write("tokenizer_config.json", """
            {"tokenizer_class": "LlamaTokenizer", "added_tokens_decoder": {
              "513": {"content": "<|user|>", "lstrip": false, "normalized": false, "rstrip": true, "single_word": false, "special": true}}}
            """);
        var tokenizer = HdxTokenizerLoader.Load(folder.Path);
        var plain = HdxTokenizerLoader.Load(source);

        Assert.Equal(514, tokenizer.VocabSize);
        Assert.True(tokenizer.IsSpecialToken(513));
        Assert.False(tokenizer.IsSpecialToken(512));
        int[] hi = plain.Encode("Hi", addSpecialTokens: false);
        Assert.Equal(hi.Prepend(513).Append(512).Prepend(1).ToArray(), tokenizer.Encode("<|user|>  Hi<pad>"));
        Assert.Equal("<|user|> Hi<pad>", tokenizer.Decode(tokenizer.Encode("<|user|>  Hi<pad>", addSpecialTokens: false)));
    }

    [Fact]
    public void RefusesAFileThatIsNotASentencePieceModel()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(Path.Combine(folder.Path, "tokenizer.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        Assert.Equal("TokenizerFileInvalid", Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path)).ErrorId);
    }

    [Fact]
    public void RefusesAUnigramSentencePieceModel()
    {
        // ModelProto { pieces { piece: "a" score: 0 }, trainer_spec { model_type: UNIGRAM } }
        using var buffer = new MemoryStream();
        var output = new Google.Protobuf.CodedOutputStream(buffer);
        output.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited);
        output.WriteBytes(Google.Protobuf.ByteString.CopyFrom(0x0A, 0x01, (byte)'a'));
        output.WriteTag(2, Google.Protobuf.WireFormat.WireType.LengthDelimited);
        output.WriteBytes(Google.Protobuf.ByteString.CopyFrom(0x18, 0x01));
        output.Flush();
        using var folder = new TempFolder();
        File.WriteAllBytes(Path.Combine(folder.Path, "tokenizer.model"), buffer.ToArray());

        var error = Assert.Throws<HdxException>(() => HdxTokenizerLoader.Load(folder.Path));
        Assert.Equal("TokenizerUnsupported", error.ErrorId);
        Assert.Contains("'trainer_spec.model_type=1'", error.Message, StringComparison.Ordinal);
    }
}
