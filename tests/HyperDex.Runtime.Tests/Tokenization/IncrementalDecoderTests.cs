using System.Text.Json;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>
/// The streaming detokenizer (HF TextStreamer semantics) on real tokenizers and multibyte text: the pieces never
/// hold half a character and always add up to Decode(all).
/// </summary>
public class IncrementalDecoderTests
{
    private const string Multibyte = "Grüße, 世界! 😀👩‍👩‍👧 naïve café — 𝐀𠀀𓀀 ﷺ नमस्ते\nfin";

    [SkippableTheory]
    [MemberData(nameof(ParityTests.Families), MemberType = typeof(ParityTests))]
    public void PiecesAddUpToDecodeOnTheCorpus(string family)
    {
        string folder = SharedData.Require($"tokenizers/{family}");
        var tokenizer = HdxTokenizerLoader.Load(folder);
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "expected.json")));
        foreach (var sample in expected.RootElement.GetProperty("samples").EnumerateArray())
        {
            int[] ids = sample.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            foreach (bool skip in new[] { false, true })
            {
                var pieces = Stream(tokenizer, ids, skip);
                Assert.Equal(tokenizer.Decode(ids, skip), string.Concat(pieces));
                Assert.All(pieces, piece => Assert.False(HasLoneSurrogate(piece), $"half a character in {JsonSerializer.Serialize(piece)}"));
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(ParityTests.Families), MemberType = typeof(ParityTests))]
    public void EmitsEachMultibyteCharacterWholeAndNoReplacementCharacters(string family)
    {
        var tokenizer = HdxTokenizerLoader.Load(SharedData.Require($"tokenizers/{family}"));
        int[] ids = tokenizer.Encode(Multibyte, addSpecialTokens: false);
        var pieces = Stream(tokenizer, ids, skipSpecialTokens: true);

        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
        Assert.All(pieces, piece => Assert.DoesNotContain('\uFFFD', piece));
        Assert.All(pieces, piece => Assert.False(HasLoneSurrogate(piece)));
        Assert.Contains(pieces, piece => piece.Contains("😀", StringComparison.Ordinal));
        Assert.True(pieces.Count(p => p.Length > 0) > 10, "the text must come out in many pieces, not at the end");
    }

    [SkippableFact]
    public void HoldsAByteFallbackSequenceUntilItIsComplete()
    {
        var tokenizer = HdxTokenizerLoader.Load(SharedData.Require("tokenizers/llama2"));
        int[] ids = tokenizer.Encode("a😀b", addSpecialTokens: false);
        var decoder = tokenizer.CreateIncrementalDecoder();
        var pieces = ids.Select(decoder.Push).ToList();
        pieces.Add(decoder.Flush());

        // ▁a, then four <0xXX> byte tokens (held), then b closes the run.
        Assert.Equal(["a", "", "", "", "", "😀b", ""], pieces);
    }

    [Fact]
    public void HoldsAnIncompleteByteLevelCharacter()
    {
        var tokenizer = ByteLevelTokenizer();
        int[] ids = tokenizer.Encode("𓀀", addSpecialTokens: false);
        Assert.True(ids.Length > 1, "the hieroglyph is several byte-level tokens");
        var decoder = tokenizer.CreateIncrementalDecoder();
        var pieces = ids.Select(decoder.Push).ToList();
        Assert.Equal("𓀀", string.Concat(pieces));
        Assert.Equal("𓀀", pieces[^1]);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void FlushReleasesAnUnfinishedCharacterAsReplacement()
    {
        var tokenizer = ByteLevelTokenizer();
        int[] ids = tokenizer.Encode("𓀀", addSpecialTokens: false);
        int[] cut = ids[..^1];
        Assert.NotEmpty(cut);
        var decoder = tokenizer.CreateIncrementalDecoder();
        Assert.All(cut, id => Assert.Equal("", decoder.Push(id)));
        Assert.Equal(tokenizer.Decode(cut), decoder.Flush());
        Assert.Equal("\uFFFD", tokenizer.Decode(cut));
    }

    /// <summary>A generated GPT-2-style byte-level BPE tokenizer (no ../shared needed).</summary>
    private static IHdxTokenizer ByteLevelTokenizer()
    {
        using var folder = new TempFolder();
        folder.Write("tokenizer.json", MinimalByteLevelTokenizer.Build().ToJsonString());
        return HdxTokenizerLoader.Load(folder.Path);
    }

    private static List<string> Stream(IHdxTokenizer tokenizer, int[] ids, bool skipSpecialTokens)
    {
        var decoder = tokenizer.CreateIncrementalDecoder(skipSpecialTokens);
        var pieces = ids.Select(decoder.Push).ToList();
        pieces.Add(decoder.Flush());
        return pieces;
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }
}
