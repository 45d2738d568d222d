using System.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.TestTools.Bench;

/// <summary>Time to first token of a long prompt whose beginning is cached, against the same length uncached.</summary>
public sealed record CachedPromptResult(int PromptTokens, int CachedPrefixTokens, int MeasuredCachedTokens, double UncachedSeconds,
    double CachedSeconds, IReadOnlyList<double> UncachedSamples, IReadOnlyList<double> CachedSamples)
{
    public double Ratio => CachedSeconds / UncachedSeconds;
}

/// <summary>A multi-turn chat replayed through the prefix cache: prompt tokens computed against the tokens new per turn.</summary>
public sealed record ChatReplayResult(int Turns, long PromptTokens, long NewTokens, long ComputedTokens, long CachedTokens, double Seconds)
{
    public double ComputedOverNew => (double)ComputedTokens / NewTokens;
}

/// <summary>
/// The prefix-cache scenarios of issue 8, run through the engine as <see cref="TokenGeneration"/> does (cache lookup
/// on the prompt, only the uncached rest computed in <see cref="TokenGeneration.PrefillChunk"/>-row steps, greedy
/// decode), on seeded random token ids.
/// </summary>
public static class PrefixCacheBenchmark
{
    /// <summary>
    /// Per repetition: TTFT of a fresh <paramref name="promptTokens"/>-token prompt (nothing cached), then a
    /// <paramref name="cachedTokens"/>-token prompt is run to fill the cache and the TTFT of it extended to
    /// <paramref name="promptTokens"/> is measured. One warm-up repetition first.
    /// </summary>
    public static CachedPromptResult CachedPrompt(HostEngine engine, int promptTokens, int cachedTokens, int repetitions, int seed)
    {
        var random = new Random(seed);
        var logits = new float[engine.VocabSize];
        var uncached = new List<double>();
        var cached = new List<double>();
        int measuredCached = 0;
        for (int rep = 0; rep <= repetitions; rep++)
        {
            double cold = TimeToFirstToken(engine, RandomTokens(random, engine, promptTokens), logits, out _);
            int[] prompt = RandomTokens(random, engine, promptTokens);
            TimeToFirstToken(engine, prompt[..cachedTokens], logits, out _);
            double warm = TimeToFirstToken(engine, prompt, logits, out measuredCached);
            if (rep > 0)
            {
                uncached.Add(cold);
                cached.Add(warm);
            }
        }

        return new CachedPromptResult(promptTokens, cachedTokens, measuredCached, BenchMath.Median(uncached), BenchMath.Median(cached), uncached, cached);
    }

    /// <summary>
    /// A chat of <paramref name="turns"/> turns: a system prompt, then per turn a user message and a greedy answer; each
    /// turn's prompt is the whole conversation so far. New tokens: the first prompt, then each user message.
    /// </summary>
    public static ChatReplayResult ChatReplay(HostEngine engine, int turns, int systemTokens, int userTokens, int answerTokens, int seed)
    {
        var random = new Random(seed);
        var logits = new float[engine.VocabSize];
        var conversation = new List<int>(RandomTokens(random, engine, systemTokens));
        long prompts = 0, fresh = 0, computed = 0, reused = 0;
        var clock = Stopwatch.StartNew();
        for (int turn = 0; turn < turns; turn++)
        {
            conversation.AddRange(RandomTokens(random, engine, userTokens));
            fresh += turn == 0 ? conversation.Count : userTokens;
            int[] prompt = conversation.ToArray();
            using var sequence = engine.CreateSequence(prompt, prompt.Length + answerTokens - 1);
            prompts += prompt.Length;
            reused += sequence.CachedTokens;
            computed += prompt.Length - sequence.Length;
            Prefill(engine, sequence, prompt, logits);
            int[] step = { BenchMath.ArgMax(logits) };
            conversation.Add(step[0]);
            for (int i = 1; i < answerTokens; i++)
            {
                engine.Forward(sequence, step, logits);
                step[0] = BenchMath.ArgMax(logits);
                conversation.Add(step[0]);
            }
        }

        return new ChatReplayResult(turns, prompts, fresh, computed, reused, clock.Elapsed.TotalSeconds);
    }

    private static double TimeToFirstToken(HostEngine engine, int[] prompt, float[] logits, out int cachedTokens)
    {
        var clock = Stopwatch.StartNew();
        using var sequence = engine.CreateSequence(prompt, prompt.Length);
        cachedTokens = sequence.CachedTokens;
        Prefill(engine, sequence, prompt, logits);
        BenchMath.ArgMax(logits);
        return clock.Elapsed.TotalSeconds;
    }

    private static void Prefill(HostEngine engine, KvSequence sequence, int[] prompt, float[] logits)
    {
        for (int offset = sequence.Length; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
        {
            engine.Forward(sequence, prompt.AsSpan(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
        }
    }

    private static int[] RandomTokens(Random random, HostEngine engine, int count) =>
        Enumerable.Range(0, count).Select(_ => random.Next(Math.Min(300, engine.VocabSize - 1), engine.VocabSize)).ToArray();
}
