using System.Diagnostics;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;
using Xunit;

namespace HyperDex.Runtime.Tests.Tokenization;

/// <summary>A tokenizer.json and the text it is given are untrusted: bounded time and memory, ErrorIds, never a hang.</summary>
public sealed class HostileTokenizerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hdx-hostile-tok-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private IHdxTokenizer Load(Action<JsonObject> edit)
    {
        var json = MinimalByteLevelTokenizer.Build();
        edit(json);
        File.WriteAllText(Path.Combine(_folder, TokenizerJsonReader.FileName), json.ToJsonString());
        return HdxTokenizerLoader.Create(_folder);
    }

    private static void SplitFirst(JsonObject json, string regex) => json["pre_tokenizer"] = new JsonObject
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = "Isolated", ["invert"] = false },
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
    };

    [Fact]
    public void ACatastrophicallyBacktrackingSplitPatternRunsInLinearTime()
    {
        // (a+)+$ is supported by the non-backtracking engine: same pieces, linear time.
        var tokenizer = Load(json => SplitFirst(json, "(a+)+$"));
        var clock = Stopwatch.StartNew();
        int[] ids = tokenizer.Encode(new string('a', 40) + "!", addSpecialTokens: false);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(new string('a', 40) + "!", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void ABacktrackingPatternTheLinearEngineCannotRunTimesOutWithAnErrorId()
    {
        // A lookahead keeps this pattern on the backtracking engine; its match timeout turns the spin into an error.
        var tokenizer = Load(json => SplitFirst(json, "(?=a)(a+)+$"));
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<HdxException>(() => tokenizer.Encode(new string('a', 40) + "!", addSpecialTokens: false));
        Assert.Equal("TokenizerRegexTimeout", error.ErrorId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(1 << 30)]
    [InlineData(-5)]
    public void ATokenIdFarOutsideTheVocabularyIsRefusedBeforeAllocating(long id)
    {
        long before = GC.GetTotalAllocatedBytes();
        var error = Assert.Throws<HdxException>(() => Load(json => json["model"]!["vocab"]!["c"] = id));
        Assert.Equal("TokenizerFileInvalid", error.ErrorId);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 256L << 20);
    }

    [Fact]
    public void ATokenIdOfTheWrongTypeIsAnErrorId() =>
        Assert.Equal("TokenizerFileInvalid", Assert.Throws<HdxException>(() => Load(json => json["model"]!["vocab"]!["c"] = long.MaxValue)).ErrorId);

    [Fact]
    public void TokenizationTimeIsLinearInTheTextLength()
    {
        var tokenizer = Load(_ => { });
        string sentence = "The quick brown fox jumps over the lazy dog, then the cat in the hat sat on the mat. ";
        string small = string.Concat(Enumerable.Repeat(sentence, 100_000 / sentence.Length));
        string large = string.Concat(Enumerable.Repeat(sentence, 800_000 / sentence.Length));
        tokenizer.Encode(small); // warm up
        var clock = Stopwatch.StartNew();
        tokenizer.Encode(small);
        var smallTime = clock.Elapsed;
        clock.Restart();
        int[] ids = tokenizer.Encode(large);
        var largeTime = clock.Elapsed;
        Assert.True(ids.Length > large.Length / 10);

        // 8× the text: linear is ~8×, quadratic ~64×; allow noise on a shared machine, and a hard bound.
        Assert.True(largeTime < TimeSpan.FromSeconds(10), $"800k characters took {largeTime}");
        Assert.True(largeTime.TotalMilliseconds < 25 * Math.Max(smallTime.TotalMilliseconds, 5), $"100k: {smallTime}, 800k: {largeTime}");
    }
}

/// <summary>Linear tokenization with a real SentencePiece-style tokenizer (stories260K's), on text with and without spaces.</summary>
public sealed class LinearTokenizationTests
{
    [SkippableTheory]
    [InlineData("Once upon a time, there was a little girl named Lily. She liked to play outside in the sun. ")]
    [InlineData("a")]
    [InlineData("ab1,")]
    public void TokenizationTimeIsLinearInTheTextLength(string unit)
    {
        string folder = SharedData.Require("models/stories260K");
        var tokenizer = HdxTokenizerLoader.Create(folder);
        string small = string.Concat(Enumerable.Repeat(unit, 100_000 / unit.Length));
        string large = string.Concat(Enumerable.Repeat(unit, 400_000 / unit.Length));
        tokenizer.Encode(small[..1000]);
        var clock = Stopwatch.StartNew();
        tokenizer.Encode(small);
        var smallTime = clock.Elapsed;
        clock.Restart();
        tokenizer.Encode(large);
        var largeTime = clock.Elapsed;
        Assert.True(largeTime < TimeSpan.FromSeconds(10), $"400k characters took {largeTime}");
        Assert.True(largeTime.TotalMilliseconds < 12 * Math.Max(smallTime.TotalMilliseconds, 5), $"100k: {smallTime}, 400k: {largeTime}");
    }

    [SkippableTheory]
    [InlineData("models/stories260K")]
    [InlineData("tokenizers/llama2")]
    [InlineData("tokenizers/mistral")]
    public void TheLinearMergeGivesMlsTokensOnLongWords(string folder)
    {
        string path = SharedData.Require(folder);
        var definition = File.Exists(Path.Combine(path, TokenizerJsonReader.FileName)) ? TokenizerJsonReader.Read(path) : SentencePieceModelReader.Read(path);
        var linear = new LinearBpe(definition.Vocab, definition.Merges);
        var ml = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new Microsoft.ML.Tokenizers.BpeOptions(definition.Vocab)
        {
            Merges = definition.Merges,
            UnknownToken = definition.UnknownToken,
            PreTokenizer = new CodePointSplitPreTokenizer([]),
        });
        var random = new Random(5);
        string alphabet = "abcdefghijklmnopqrstuvwxyz.,'\u2581\u2581\u2581eeetaoin";
        for (int trial = 0; trial < 20; trial++)
        {
            var text = new string(Enumerable.Range(0, 300 + random.Next(1500)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var ids = new List<int>();
            Assert.True(linear.TryEncode(text, ids));
            Assert.Equal(ml.EncodeToIds(text, considerPreTokenization: false, considerNormalization: false), ids);
        }
    }
}
