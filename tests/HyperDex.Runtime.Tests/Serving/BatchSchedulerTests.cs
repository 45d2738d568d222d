using System.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Serving;
using Xunit;

namespace HyperDex.Runtime.Tests.Serving;

/// <summary>Continuous batching: concurrent sequences joining between steps, chunked prefill, cancellation, shutdown.</summary>
public sealed class BatchSchedulerTests : IClassFixture<ServingModel>
{
    private readonly ServingModel _model;

    public BatchSchedulerTests(ServingModel model) => _model = model;

    private static ScheduledSequence Schedule(LoadedModel model, int[] prompt, int maxTokens, int? topLogprobs = null,
        CancellationToken cancellation = default)
    {
        var sampling = new SamplingOptions { MaxNewTokens = maxTokens }.Resolve(model.Manifest.Generation);
        var sequence = model.Engine.CreateSequence(prompt.Length + maxTokens - 1, cancellation);
        var chooser = new TokenChooser(model.Tokenizer, prompt, sampling, model.Engine.VocabSize, new HashSet<int>(model.EosTokenIds), maxTokens, Stopwatch.StartNew());
        return new ScheduledSequence(prompt, sequence, chooser, model.Engine.VocabSize, topLogprobs, cancellation);
    }

    private static async Task<List<GeneratedToken>> Drain(ScheduledSequence sequence)
    {
        var tokens = new List<GeneratedToken>();
        await foreach (var token in sequence.Tokens.ReadAllAsync())
        {
            tokens.Add(token.Token);
        }

        return tokens;
    }

    [Fact]
    public async Task ConcurrentSequencesJoiningBetweenStepsGenerateWhatEachGeneratesAlone()
    {
        using var model = LoadedModel.Load(_model.Path, options: new HostEngineOptions { KvSequences = 8, PrefixCacheBytes = 0 });
        var random = new Random(3);
        // Prompts from 1 to 90 tokens: with 16 rows per step the long ones are prefilled in chunks between decode steps.
        int[][] prompts = Enumerable.Range(0, 6).Select(i => Enumerable.Range(0, 1 + (i * 17)).Select(_ => random.Next(1, 250)).ToArray()).ToArray();
        var expected = prompts.Select(p =>
        {
            using var alone = model.Generate(p, new SamplingOptions { MaxNewTokens = 12 }, usePrefixCache: false);
            return (Ids: alone.Select(t => t.TokenId).ToList(), Reason: alone.FinishReason);
        }).ToList();

        using var scheduler = new BatchScheduler(model.Engine, "test", stepRows: 16);
        var running = new List<(int Index, ScheduledSequence Sequence, Task<List<GeneratedToken>> Tokens)>();
        for (int i = 0; i < prompts.Length; i++)
        {
            var sequence = Schedule(model, prompts[i], 12);
            scheduler.Submit(sequence);
            running.Add((i, sequence, Drain(sequence)));
            await Task.Delay(5); // later ones join while earlier ones are prefilling or decoding
        }

        foreach (var (index, sequence, tokens) in running)
        {
            var generated = await tokens;
            Assert.Equal(expected[index].Ids, generated.Select(t => t.TokenId).ToList());
            Assert.Equal(expected[index].Reason, sequence.FinishReason);
            Assert.Equal(expected[index].Reason, generated[^1].FinishReason);
        }

        Assert.Equal(model.Engine.Blocks.BlockCount, model.Engine.Blocks.FreeBlocks);
    }

    [Fact]
    public async Task ACancelledSequenceEndsAndGivesBackItsBlocksWhileOthersGoOn()
    {
        using var model = LoadedModel.Load(_model.Path, options: new HostEngineOptions { KvSequences = 4, PrefixCacheBytes = 0 });
        using var scheduler = new BatchScheduler(model.Engine, "test");
        using var cancel = new CancellationTokenSource();
        // Far more tokens than the few steps the cancellation takes to land: with 200 the tiny model could generate
        // them all before the scheduler saw the cancellation (its stream is not back-pressured).
        const int doomedTokens = 2000;
        var doomed = Schedule(model, [1, 2, 3], doomedTokens, cancellation: cancel.Token);
        var other = Schedule(model, [4, 5], 40);
        scheduler.Submit(doomed);
        scheduler.Submit(other);
        await doomed.Tokens.ReadAsync();
        cancel.Cancel();
        var rest = await Drain(doomed);
        Assert.Equal(FinishReason.Cancelled, doomed.FinishReason);
        Assert.True(rest.Count < doomedTokens - 1);
        Assert.Equal(40, (await Drain(other)).Count);
        Assert.Equal(model.Engine.Blocks.BlockCount, model.Engine.Blocks.FreeBlocks);
    }

    [Fact]
    public async Task StoppingTheSchedulerCancelsRunningSequencesAndFreesTheirBlocks()
    {
        using var model = LoadedModel.Load(_model.Path, options: new HostEngineOptions { PrefixCacheBytes = 0 });
        var scheduler = new BatchScheduler(model.Engine, "test");
        var sequence = Schedule(model, [1, 2, 3], 250);
        scheduler.Submit(sequence);
        await sequence.Tokens.ReadAsync();
        scheduler.Dispose();
        await Drain(sequence);
        Assert.Equal(FinishReason.Cancelled, sequence.FinishReason);
        Assert.Equal(model.Engine.Blocks.BlockCount, model.Engine.Blocks.FreeBlocks);

        var late = Schedule(model, [1], 4);
        scheduler.Submit(late);
        Assert.Empty(await Drain(late));
        Assert.Equal(FinishReason.Cancelled, late.FinishReason);
    }

    [Fact]
    public async Task LogprobsAreTheRawDistributionsAndTheChosenTokenLeadsUnderGreedy()
    {
        using var model = LoadedModel.Load(_model.Path, options: new HostEngineOptions { PrefixCacheBytes = 0 });
        using var scheduler = new BatchScheduler(model.Engine, "test");
        var sequence = Schedule(model, [1, 2, 3], 5, topLogprobs: 3);
        scheduler.Submit(sequence);
        await foreach (var token in sequence.Tokens.ReadAllAsync())
        {
            var logprobs = token.Logprobs!;
            Assert.Equal(3, logprobs.Top.Length);
            Assert.Equal(token.Token.TokenId, logprobs.Top[0].Id);
            Assert.Equal(logprobs.Logprob, logprobs.Top[0].Logprob);
            Assert.True(logprobs.Top[0].Logprob >= logprobs.Top[1].Logprob && logprobs.Top[1].Logprob >= logprobs.Top[2].Logprob);
            Assert.True(logprobs.Logprob < 0);
        }
    }

    [Fact]
    public void TopLogprobsMatchABruteForceLogSoftmax()
    {
        var random = new Random(5);
        float[] logits = Enumerable.Range(0, 100).Select(_ => (float)(random.NextDouble() * 10 - 5)).ToArray();
        var result = TokenLogprobs.From(logits, 17, 5);
        double logSum = Math.Log(logits.Sum(v => Math.Exp(v)));
        var expected = logits.Select((v, i) => (Id: i, Logprob: v - logSum)).OrderByDescending(e => e.Logprob).Take(5).ToList();
        Assert.Equal(expected.Select(e => e.Id), result.Top.Select(t => t.Id));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i].Logprob, result.Top[i].Logprob, 4);
        }

        Assert.Equal(logits[17] - logSum, result.Logprob, 4);
    }
}
