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
}
