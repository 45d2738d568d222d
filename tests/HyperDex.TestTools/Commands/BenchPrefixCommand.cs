using System.Diagnostics;
using System.Text.Json;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-prefix --model DIR [--repetitions N] [--prompt 2048] [--cached 1984] [--turns 10]`: the prefix
/// cache's figures as JSON, measured in one run so the ratios hold on a busy machine.
/// <list type="bullet">
/// <item>TTFT of a prompt whose first --cached tokens are in the cache (another prompt with that beginning ran
/// before), over the TTFT of the same prompt computed in full; medians of --repetitions after a warm-up.</item>
/// <item>A --turns chat replay (token ids: each prompt = the previous prompt + its answer + a new user turn):
/// prompt tokens computed over the tokens new in each turn (the user turns; all of the first prompt).</item>
/// </list>
/// tools/Bench.ps1 runs it on bench-110m fp16 (MaxLength must leave room for the prompt).
/// </summary>
public sealed class BenchPrefixCommand : ITestToolCommand
{
    public string Name => "bench-prefix";

    public int Run(ToolArguments arguments)
    {
        int promptLength = arguments.GetInt("prompt", 2048);
        int cachedLength = arguments.GetInt("cached", 1984);
        int repetitions = arguments.GetInt("repetitions", 3);
        int turns = arguments.GetInt("turns", 10);
        string model = Path.GetFullPath(arguments.Get("model"));

        // The engine directly (its random weights pick ids beyond the small test tokenizer, so no detokenizing).
        using var engine = HostEngine.Load(model);
        var random = new Random(42);
        int[] Tokens(int count) => Enumerable.Range(0, count).Select(_ => random.Next(3, engine.VocabSize)).ToArray();

        // TTFT: the measured prompt shares its first cachedLength tokens with one that ran just before.
        var cachedTimes = new List<double>();
        var fullTimes = new List<double>();
        int servedFromCache = 0;
        for (int i = 0; i <= repetitions; i++)
        {
            int[] prompt = Tokens(promptLength);
            engine.Blocks.Clear();
            Greedy(engine, [.. prompt.AsSpan(0, cachedLength), .. Tokens(promptLength - cachedLength)], 1, useCache: true);
            var cached = Greedy(engine, prompt, 1, useCache: true);
            var full = Greedy(engine, prompt, 1, useCache: false);
            if (i > 0)
            {
                cachedTimes.Add(cached.FirstToken.TotalSeconds);
                fullTimes.Add(full.FirstToken.TotalSeconds);
                servedFromCache = cached.Cached;
            }
        }

        // Chat replay: a system prompt, then user turns and greedy answers.
        engine.Blocks.Clear();
        int[] history = Tokens(200);
        long computed = 0, fresh = history.Length, uncached = 0;
        for (int turn = 0; turn < turns; turn++)
        {
            var answer = Greedy(engine, history, 24, useCache: true);
            computed += history.Length - answer.Cached;
            uncached += history.Length;
            int[] user = Tokens(random.Next(20, 80));
            history = [.. history, .. answer.Tokens, .. user];
            fresh += turn + 1 < turns ? user.Length : 0;
        }

        var statistics = engine.Blocks.Statistics;
        double cachedMedian = BenchMath.Median(cachedTimes), fullMedian = BenchMath.Median(fullTimes);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model,
            promptTokens = promptLength,
            cachedTokens = servedFromCache,
            ttftCachedSeconds = cachedMedian,
            ttftUncachedSeconds = fullMedian,
            ttftRatio = cachedMedian / fullMedian,
            chatTurns = turns,
            chatNewTokens = fresh,
            chatComputedTokens = computed,
            chatComputedOverNew = (double)computed / fresh,
            chatTokensWithoutCache = uncached,
            evictions = statistics.Evictions,
        }));
        return 0;
    }

    /// <summary>Greedy decoding as TokenGeneration does it (sequence from the cache or not, prefill in chunks), timed to the first token.</summary>
    private static (int Cached, int[] Tokens, TimeSpan FirstToken) Greedy(HostEngine engine, int[] prompt, int count, bool useCache)
    {
        var clock = Stopwatch.StartNew();
        int capacity = prompt.Length + count - 1;
        using var sequence = useCache ? engine.CreateSequence(prompt, capacity) : engine.CreateSequence(capacity);
        int cached = sequence.Length;
        var logits = new float[engine.VocabSize];
        for (int offset = cached; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
        {
            engine.Forward(sequence, prompt.AsSpan(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
        }

        var tokens = new int[count];
        TimeSpan first = TimeSpan.Zero;
        for (int i = 0; i < count; i++)
        {
            tokens[i] = Array.IndexOf(logits, logits.Max());
            if (i == 0)
            {
                first = clock.Elapsed;
            }

            if (i + 1 < count)
            {
                engine.Forward(sequence, tokens.AsSpan(i, 1), logits);
            }
        }

        return (cached, tokens, first);
    }
}
