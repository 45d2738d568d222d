using System.Text.Json;
using HyperDex.Runtime.Engine;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-prefix --model DIR [--reps 3] [--prompt 2048] [--cached 1984] [--turns 10]`: the prefix-cache scenarios of
/// issue 8 (see <see cref="PrefixCacheBenchmark"/>) on one compiled model, as JSON.
/// </summary>
public sealed class BenchPrefixCommand : ITestToolCommand
{
    public string Name => "bench-prefix";

    public int Run(ToolArguments arguments)
    {
        string model = Path.GetFullPath(arguments.Get("model"));
        int prompt = arguments.GetInt("prompt", 2048);
        int cachedPrefix = arguments.GetInt("cached", 1984);
        using var engine = HostEngine.Load(model);
        var cached = PrefixCacheBenchmark.CachedPrompt(engine, prompt, cachedPrefix, arguments.GetInt("reps", 3), seed: 11);
        var chat = PrefixCacheBenchmark.ChatReplay(engine, arguments.GetInt("turns", 10), systemTokens: 256, userTokens: 48, answerTokens: 32, seed: 12);
        var statistics = engine.Blocks.Statistics;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model,
            cachedPrompt = new
            {
                cached.PromptTokens, cached.CachedPrefixTokens, cached.MeasuredCachedTokens,
                uncachedTimeToFirstTokenSeconds = cached.UncachedSeconds, cachedTimeToFirstTokenSeconds = cached.CachedSeconds,
                ratio = cached.Ratio, target = 0.1,
                uncachedSamples = cached.UncachedSamples, cachedSamples = cached.CachedSamples,
            },
            chatReplay = new
            {
                chat.Turns, chat.PromptTokens, chat.NewTokens, chat.ComputedTokens, chat.CachedTokens, chat.Seconds,
                computedOverNew = chat.ComputedOverNew, target = 1.2,
            },
            cache = new { statistics.Blocks, statistics.BlockSize, statistics.Hits, statistics.Misses, statistics.HitRate, statistics.Evictions },
        }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        return 0;
    }
}
