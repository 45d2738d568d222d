using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>The prefix cache through generation on a generated model and its generated tokenizer.</summary>
public sealed class PrefixCacheGenerationTests : IClassFixture<GeneratedModel>
{
    private readonly GeneratedModel _model;

    public PrefixCacheGenerationTests(GeneratedModel model) => _model = model;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PromptsSharingPrefixesGenerateWhatTheyGenerateWithoutTheCache(int numDevice)
    {
        using var model = LoadedModel.Load(_model.Path, numDevice);
        string[] prompts =
        [
            "Once upon a time, there was a little girl named Lily. She loved to play outside",
            "Once upon a time, there was a little girl named Lily. She loved to play outside",
            "Once upon a time, there was a little girl named Lily. She had a big red ball",
            "Once upon a time, there was a little boy named Tim",
            "Once upon a time, there was a little girl named Lily. She loved",
            "Once upon a time",
            "One day, a cat",
        ];
        var random = new Random(4);
        foreach (string prompt in prompts)
        {
            var options = new SamplingOptions { MaxNewTokens = 30 + random.Next(30) };
            using var cached = model.Generate(prompt, options);
            var cachedIds = cached.Select(t => t.TokenId).ToList();
            using var plain = model.Generate(prompt, options, usePrefixCache: false);
            Assert.Equal(plain.Select(t => t.TokenId).ToList(), cachedIds);
            Assert.Equal(0, plain.CachedTokens);
        }

        var statistics = model.Engine.Blocks.Statistics;
        Assert.True(statistics.Hits > 0 && statistics.HitRate is > 0 and < 1);
    }

    [Fact]
    public void TheReferenceOutputIsReproducedFromAFullyCachedPromptAndAMidBlockOne()
    {
        using var model = LoadedModel.Load(_model.Path);
        int[] expected = _model.ExpectedIds;
        // Feed the reference's first 37 tokens once (BOS + 36 generated), then ask again from prompts inside it.
        using (var first = model.Generate([GeneratedModel.BosId, .. expected.Take(36)], new SamplingOptions { MaxNewTokens = 1 }))
        {
            Assert.Equal(expected[36], first.Single().TokenId);
        }

        foreach (int length in new[] { 37, 20, 16, 33 })
        {
            int[] prompt = [GeneratedModel.BosId, .. expected.Take(length - 1)];
            using var generation = model.Generate(prompt, new SamplingOptions { MaxNewTokens = 200 - (length - 1) });
            Assert.Equal(length - 1, generation.CachedTokens);
            Assert.Equal(expected.Skip(length - 1), generation.Select(t => t.TokenId));
        }
    }

    [Fact]
    public void ChatTurnsReuseThePreviousPromptAndAnswer()
    {
        using var model = LoadedModel.Load(_model.Path);
        int[] history = model.EncodePrompt("Once upon a time, there was a dog.");
        foreach (string turn in new[] { " The dog was happy.", " Then a bird came.", " They played all day." })
        {
            using var answer = model.Generate(history, new SamplingOptions { MaxNewTokens = 20 });
            int[] generated = answer.Select(t => t.TokenId).ToArray();
            int[] next = [.. history, .. generated, .. model.Tokenizer.Encode(turn, addSpecialTokens: false)];
            using var following = model.Generate(next, new SamplingOptions { MaxNewTokens = 20 });
            using var plain = model.Generate(next, new SamplingOptions { MaxNewTokens = 20 }, usePrefixCache: false);
            Assert.Equal(history.Length + generated.Length - 1, following.CachedTokens);
            Assert.Equal(plain.Select(t => t.TokenId).ToList(), following.Select(t => t.TokenId).ToList());
            history = next;
        }
    }
}
