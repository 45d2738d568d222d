using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// The prefix cache on generated models: outputs with the cache equal outputs computed from scratch, the cache serves
/// exactly the longest prefix an earlier sequence computed (whole blocks, mid-block copies, fully cached prompts), and
/// eviction and concurrent sequences keep that true.
/// </summary>
public sealed class PrefixCacheTests : IDisposable
{
    private const int Vocab = 256;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Model(int blockSize) =>
        TestCompiledModel.Write(HfCheckpoint.Random(seed: 11, vocab: Vocab), _temp.Sub($"m{blockSize}"), numDevices: [1, 2], blockSize: blockSize, maxLength: 256);

    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 16)]
    [InlineData(1, 4)]
    public void PromptsSharingRandomPrefixesMatchUncachedOutputAndHitTheLongestComputedPrefix(int numDevice, int blockSize)
    {
        using var engine = HostEngine.Load(Model(blockSize), numDevice, new HostEngineOptions { PrefixCacheBytes = 16 << 20 });
        var random = new Random(numDevice * 100 + blockSize);
        var computed = new List<int[]>(); // every sequence's positions so far: what the cache can know
        bool sawFull = false, sawMidBlock = false, sawWholeBlocks = false;
        for (int i = 0; i < 40; i++)
        {
            int[] prompt = NextPrompt(random, computed);
            int expected = Math.Min(prompt.Length - 1, computed.Select(c => c.AsSpan().CommonPrefixLength(prompt)).DefaultIfEmpty(0).Max());
            var cached = Run(engine, prompt, 6, useCache: true);
            var reference = Run(engine, prompt, 6, useCache: false);

            Assert.Equal(expected, cached.Cached);
            Assert.Equal(reference.Tokens, cached.Tokens);
            for (int step = 0; step < reference.Logits.Count; step++)
            {
                Assert.True(EngineTestHelpers.RelativeError(cached.Logits[step], reference.Logits[step].Select(v => (double)v).ToList()) < 1e-4,
                    $"prompt {i}, step {step}: logits differ from the uncached run");
            }

            computed.Add([.. prompt, .. cached.Tokens.SkipLast(1)]);
            sawFull |= expected == prompt.Length - 1 && prompt.Length > 1;
            sawMidBlock |= expected % blockSize != 0;
            sawWholeBlocks |= expected >= blockSize && expected % blockSize == 0;
        }

        Assert.True(sawFull && sawMidBlock && sawWholeBlocks, "the random prompts did not cover fully cached, mid-block and whole-block prefixes");
        var statistics = engine.Blocks.Statistics;
        Assert.Equal(0, statistics.Evictions);
        Assert.True(statistics.Hits > 0 && statistics.Misses > 0);
    }

    [Fact]
    public void AChatWhoseNextPromptExtendsTheLastAnswerComputesOnlyTheNewTurn()
    {
        using var engine = HostEngine.Load(Model(16), 1);
        var random = new Random(3);
        int[] history = Tokens(random, 23);
        for (int turn = 0; turn < 5; turn++)
        {
            var result = Run(engine, history, 9, useCache: true);
            Assert.Equal(Run(engine, history, 9, useCache: false).Tokens, result.Tokens);
            int[] next = [.. history, .. result.Tokens, .. Tokens(random, 5)];
            // Everything fed before is cached: the old prompt and every answer token but the last (never fed back).
            var following = Run(engine, next, 1, useCache: true);
            Assert.Equal(history.Length + result.Tokens.Count - 1, following.Cached);
            history = next;
        }
    }

    [Fact]
    public void IdleCachedBlocksAreEvictedLeastRecentlyUsedFirstAndBlocksInUseNeverAre()
    {
        // Two sequences of MaxLength and no extra room: every new prompt must evict idle cached blocks.
        using var engine = HostEngine.Load(Model(16), 1, new HostEngineOptions { KvSequences = 2 });
        var random = new Random(5);
        int[] shared = Tokens(random, 40);
        int[] held = [.. shared, .. Tokens(random, 10)];
        Run(engine, held, 2, useCache: true);
        var expected = Run(engine, held, 100, useCache: false);

        // A running sequence takes the cached prefix, then others churn through the rest of the pool.
        var logits = new float[Vocab];
        using (var sequence = engine.CreateSequence(held, held.Length + 99))
        {
            Assert.Equal(held.Length - 1, sequence.CachedTokens);
            for (int i = 0; i < 12; i++)
            {
                int[] other = Tokens(random, 120);
                Assert.Equal(Run(engine, other, 3, useCache: false).Tokens, Run(engine, other, 3, useCache: true).Tokens);
            }

            Assert.True(engine.Blocks.Statistics.Evictions > 0);
            engine.Forward(sequence, held.AsSpan(sequence.Length), logits);
            var tokens = new List<int> { Sampler.ArgMax(logits) };
            while (tokens.Count < 100)
            {
                engine.Forward(sequence, [tokens[^1]], logits);
                tokens.Add(Sampler.ArgMax(logits));
            }

            Assert.Equal(expected.Tokens, tokens);
        }

        Assert.Equal(engine.Blocks.BlockCount, engine.Blocks.FreeBlocks);
    }

    [Fact]
    public void ConcurrentGenerationsShareCachedBlocksSafely()
    {
        using var engine = HostEngine.Load(Model(16), 2, new HostEngineOptions { KvSequences = 3 });
        var random = new Random(8);
        int[] system = Tokens(random, 37);
        var prompts = Enumerable.Range(0, 24).Select(i => (int[])[.. system.AsSpan(0, 20 + (i % 18)), .. Tokens(random, 1 + (i % 7))]).ToArray();
        var expected = prompts.Select(p => Run(engine, p, 12, useCache: false).Tokens).ToArray();

        var results = new List<int>[prompts.Length];
        int cachedTotal = 0;
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, worker =>
        {
            for (int i = worker; i < prompts.Length; i += 2)
            {
                var run = Run(engine, prompts[i], 12, useCache: true);
                results[i] = run.Tokens;
                Interlocked.Add(ref cachedTotal, run.Cached);
            }
        });

        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i], results[i]);
        }

        Assert.True(cachedTotal > 0);
        Assert.Equal(engine.Blocks.BlockCount, engine.Blocks.FreeBlocks);
    }

    [Fact]
    public void ClearDropsIdleBlocksAndACacheSizeOfZeroTurnsCachingOff()
    {
        using (var engine = HostEngine.Load(Model(16), 1))
        {
            int[] prompt = Tokens(new Random(1), 50);
            Run(engine, prompt, 5, useCache: true);
            var before = engine.Blocks.Statistics;
            Assert.Equal(4, before.Blocks); // 54 positions fed: 3 full blocks and the partial last one
            Assert.Equal(54, before.CachedTokens);
            Assert.Equal(4 * engine.Blocks.BytesPerBlock, before.Bytes);
            var freed = engine.Blocks.Clear();
            Assert.Equal(4, freed.Blocks);
            Assert.Equal(54, freed.CachedTokens);
            Assert.Equal(0, engine.Blocks.Statistics.Blocks);
            Assert.Equal(0, Run(engine, prompt, 1, useCache: true).Cached);
        }

        using (var off = HostEngine.Load(Model(16), 1, new HostEngineOptions { PrefixCacheBytes = 0 }))
        {
            int[] prompt = Tokens(new Random(1), 50);
            Run(off, prompt, 5, useCache: true);
            Assert.Equal(0, Run(off, prompt, 1, useCache: true).Cached);
            Assert.False(off.Blocks.Statistics.Enabled);
            Assert.Equal(0, off.Blocks.Statistics.Blocks);
        }
    }

    [Fact]
    public void ACacheSizeAddsThatManyBytesOfBlocksToThePoolAndANegativeOneIsRejected()
    {
        string model = Model(16);
        using var plain = HostEngine.Load(model, 1);
        long perBlock = plain.Blocks.BytesPerBlock;
        Assert.Equal(2L * 2 * 16 * 4 * 8 * sizeof(float), perBlock); // K and V, 2 layers, 16 slots, 4 KV heads of 8
        Assert.Equal(2 * (256 / 16), plain.Blocks.BlockCount);
        using var sized = HostEngine.Load(model, 1, new HostEngineOptions { PrefixCacheBytes = (10 * perBlock) + 1 });
        Assert.Equal(plain.Blocks.BlockCount + 11, sized.Blocks.BlockCount);
        Assert.Equal(plain.MemoryBytes + (11 * perBlock), sized.MemoryBytes);
        var error = Assert.Throws<HyperDex.Runtime.Diagnostics.HdxException>(() => HostEngine.Load(model, 1, new HostEngineOptions { PrefixCacheBytes = -1 }));
        Assert.Equal("InvalidPrefixCacheSize", error.ErrorId);
    }

    /// <summary>A prompt that continues a random earlier sequence for a random length (or a fresh one), plus random tokens.</summary>
    private static int[] NextPrompt(Random random, List<int[]> computed)
    {
        if (computed.Count == 0 || random.Next(6) == 0)
        {
            return Tokens(random, random.Next(1, 60));
        }

        int[] source = computed[random.Next(computed.Count)];
        int keep = random.Next(1, source.Length + 1);
        int extra = random.Next(3) == 0 ? 0 : random.Next(1, 20);
        return [.. source.AsSpan(0, keep), .. Tokens(random, extra)];
    }

    private static int[] Tokens(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.Next(Vocab)).ToArray();

    /// <summary>Greedy decoding of <paramref name="count"/> tokens; the logits of every step.</summary>
    private static (int Cached, List<int> Tokens, List<float[]> Logits) Run(HostEngine engine, int[] prompt, int count, bool useCache)
    {
        int capacity = prompt.Length + count - 1;
        using var sequence = useCache ? engine.CreateSequence(prompt, capacity) : engine.CreateSequence(capacity);
        int cached = sequence.Length;
        var logits = new float[engine.VocabSize];
        var tokens = new List<int>();
        var all = new List<float[]>();
        engine.Forward(sequence, prompt.AsSpan(cached), logits);
        while (true)
        {
            all.Add((float[])logits.Clone());
            tokens.Add(Sampler.ArgMax(logits));
            if (tokens.Count == count)
            {
                return (cached, tokens, all);
            }

            engine.Forward(sequence, [tokens[^1]], logits);
        }
    }
}
