using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>Generation end to end on a generated model with its generated tokenizer (no ../shared needed).</summary>
public sealed class GenerationTests : IClassFixture<GeneratedModel>
{
    private readonly GeneratedModel _model;

    public GenerationTests(GeneratedModel model) => _model = model;

    [Fact]
    public void TopKOneEqualsGreedyWhenSampling()
    {
        using var model = LoadedModel.Load(_model.Path);
        var greedy = Ids(model, new SamplingOptions { MaxNewTokens = 40 }, "Once upon a time");
        var topK = Ids(model, new SamplingOptions { DoSample = true, TopK = 1, Temperature = 1.5, MaxNewTokens = 40, Seed = 9 }, "Once upon a time");
        Assert.Equal(greedy, topK);
    }

    [Fact]
    public void SameSeedReproducesTokensAndAnotherSeedDiffers()
    {
        using var model = LoadedModel.Load(_model.Path);
        SamplingOptions Options(int seed) => new() { DoSample = true, Temperature = 1.0, TopK = 0, MaxNewTokens = 60, Seed = seed };
        var first = Ids(model, Options(1234), "Lily");
        Assert.Equal(first, Ids(model, Options(1234), "Lily"));
        Assert.NotEqual(first, Ids(model, Options(99), "Lily"));
    }

    [Fact]
    public void StopStringEndsGenerationAndIsNotReturned()
    {
        using var model = LoadedModel.Load(_model.Path);
        string full = _model.ExpectedText;
        string stop = full.Substring(full.Length / 2, 3); // a piece of the reference text past its start
        using var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 200, Stop = [stop] });
        var tokens = generation.ToList();
        Assert.Equal(FinishReason.Stop, generation.FinishReason);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], generation.Text);
        Assert.True(tokens.Count < 200);
    }

    [Fact]
    public void AnEosIdEndsGenerationAndIsNotPrinted()
    {
        // A copy of the model whose generation config declares the reference's 10th token as EOS.
        int[] expected = _model.ExpectedIds;
        using var temp = new Engine.TempFolder();
        _ = _model.Path; // writes the source
        string folder = Engine.TestCompiledModel.Write(Engine.HfCheckpoint.Read(_model.Source), temp.Sub("m"), numDevices: [1], maxLength: 512, eosId: expected[9]);
        Directory.CreateDirectory(System.IO.Path.Combine(folder, "tokenizer"));
        File.Copy(System.IO.Path.Combine(_model.Source, "tokenizer.json"), System.IO.Path.Combine(folder, "tokenizer", "tokenizer.json"));
        using var model = LoadedModel.Load(folder);
        int stop = Array.IndexOf(expected, expected[9]);
        using var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 50 });
        var tokens = generation.ToList();
        Assert.Equal(FinishReason.Eos, generation.FinishReason);
        Assert.Equal(expected.Take(stop + 1), generation.GeneratedIds);
        Assert.Equal(FinishReason.Eos, tokens[^1].FinishReason);
        Assert.Equal(model.Tokenizer.Decode(expected.Take(stop).ToArray()), generation.Text);
    }

    [Fact]
    public void PromptLongerThanMaxLengthIsRejected()
    {
        using var model = LoadedModel.Load(_model.Path);
        string prompt = string.Concat(Enumerable.Repeat("Once upon a time there was a girl. ", 100));
        var error = Assert.Throws<HdxException>(() => model.Generate(prompt, new SamplingOptions()));
        Assert.Equal("PromptTooLong", error.ErrorId);
    }

    [Fact]
    public void OutputStopsAtMaxLength()
    {
        using var model = LoadedModel.Load(_model.Path);
        using var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 5000, RepetitionPenalty = 1.0 });
        var tokens = generation.ToList();
        Assert.Equal(FinishReason.Length, generation.FinishReason);
        Assert.True(generation.PromptIds.Count + tokens.Count <= 512);
    }

    [Fact]
    public void CancellationEndsTheStreamAndTheModelStaysUsable()
    {
        using var model = LoadedModel.Load(_model.Path);
        using var cancellation = new CancellationTokenSource();
        int free = model.Engine.Blocks.FreeBlocks;
        using (var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 200 }, cancellation.Token))
        {
            int count = 0;
            foreach (var token in generation)
            {
                if (++count == 3)
                {
                    cancellation.Cancel();
                }
            }

            Assert.Equal(3, count);
            Assert.Equal(FinishReason.Cancelled, generation.FinishReason);
        }

        Assert.Equal(free, model.Engine.Blocks.FreeBlocks);
        Assert.Equal(_model.ExpectedIds.Take(20), Ids(model, new SamplingOptions { MaxNewTokens = 20 }, string.Empty));
    }

    [Fact]
    public void AbandoningAStreamReleasesItsKvBlocks()
    {
        using var model = LoadedModel.Load(_model.Path);
        int free = model.Engine.Blocks.FreeBlocks;
        using (var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 200 }))
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.True(generation.MoveNext());
            }

            Assert.True(model.Engine.Blocks.FreeBlocks < free);
        }

        Assert.Equal(free, model.Engine.Blocks.FreeBlocks);
    }

    [Fact]
    public void InterleavedGenerationsOnOneEngineKeepTheirOwnCache()
    {
        using var model = LoadedModel.Load(_model.Path, 2);
        var options = new SamplingOptions { MaxNewTokens = 60 };
        var alone = Ids(model, options, "Tom and Lily");
        using var first = model.Generate(string.Empty, options);
        using var second = model.Generate("Tom and Lily", options);
        var a = new List<int>();
        var b = new List<int>();
        for (int i = 0; i < 60; i++)
        {
            Assert.True(first.MoveNext());
            a.Add(first.Current.TokenId);
            Assert.True(second.MoveNext());
            b.Add(second.Current.TokenId);
        }

        Assert.Equal(_model.ExpectedIds.Take(60), a);
        Assert.Equal(alone, b);
    }

    private static List<int> Ids(LoadedModel model, SamplingOptions options, string prompt)
    {
        using var generation = model.Generate(prompt, options);
        return generation.Select(t => t.TokenId).ToList();
    }
}

/// <summary>Greedy generation reproduces the pretrained stories260K's reference output (needs ../shared).</summary>
public sealed class StoriesGenerationTests : IClassFixture<StoriesModel>
{
    private readonly StoriesModel _model;

    public StoriesGenerationTests(StoriesModel model) => _model = model;

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void GreedyFromAnEmptyPromptReproducesTheReferenceText(int numDevice)
    {
        using var model = LoadedModel.Load(_model.Path, numDevice);
        using var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 200 });
        var tokens = generation.ToList();
        Assert.Equal(_model.ExpectedIds, tokens.Select(t => t.TokenId));
        Assert.Equal(_model.ExpectedText, string.Concat(tokens.Select(t => t.Text)));
        Assert.Equal(_model.ExpectedText, generation.Text);
        Assert.Equal(FinishReason.Length, generation.FinishReason);
        Assert.Equal(FinishReason.Length, tokens[^1].FinishReason);
        Assert.All(tokens.SkipLast(1), t => Assert.Null(t.FinishReason));
        Assert.Equal([1], generation.PromptIds);
    }
}
