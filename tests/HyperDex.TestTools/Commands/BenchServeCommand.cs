using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Serving;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-serve --model DIR [--clients 1,4,16,32] [--tokens 64] [--prompt 32] [--requests 2] [--soak-clients 32]
/// [--soak-requests 200]`: the serving benchmark as JSON. Starts the OpenAI-compatible server in this process on a
/// free loopback port and drives it over HTTP with concurrent streaming clients (random token-id prompts, greedy,
/// ignore_eos so every request produces --tokens tokens).
/// <list type="bullet">
/// <item>Per concurrency level: each of N clients sends --requests requests one after another; aggregate generated
/// tokens/s over the level's wall time, median and p99 time to first token, p50/p99 inter-token latency; then the
/// ratio of aggregate throughput at 16 clients (or the largest level below) to 1 client.</item>
/// <item>Soak (--soak-requests 0 skips it): --soak-clients clients × --soak-requests requests each; errors, resident
/// memory after every tenth of the requests (the first tenth is the warm-up) and at the end, and whether every KV block
/// is back in the pool.</item>
/// </list>
/// The model's tokenizer must decode every id (make-model --fill-vocab): the server detokenizes what it streams.
/// </summary>
public sealed class BenchServeCommand : ITestToolCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Name => "bench-serve";

    public int Run(ToolArguments arguments) => RunAsync(arguments).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(ToolArguments arguments)
    {
        string model = Path.GetFullPath(arguments.Get("model"));
        int[] levels = arguments.Get("clients", "1,4,16,32").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        int tokens = arguments.GetInt("tokens", 64);
        int promptTokens = arguments.GetInt("prompt", 32);
        int requests = arguments.GetInt("requests", 2);
        int soakClients = arguments.GetInt("soak-clients", 32);
        int soakRequests = arguments.GetInt("soak-requests", 200);
        int maxClients = Math.Max(levels.Max(), soakClients);

        using var server = HdxServer.Start(new ServerOptions { Port = 0, MaxConcurrentRequests = maxClients, MaxQueuedRequests = maxClients },
            [("bench", ModelPool.Acquire(model))]);
        var blocks = server.Models[0].Model.Engine.Blocks;
        int vocab = server.Models[0].Model.Tokenizer.VocabSize;
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = maxClients * 2 })
        {
            BaseAddress = new Uri(server.Url),
            Timeout = TimeSpan.FromMinutes(30),
        };
        var random = new Random(7);
        int[] Prompt() => Enumerable.Range(0, promptTokens).Select(_ => random.Next(3, vocab)).ToArray();

        // Warm-up: one request, so the first level does not pay for JIT and page faults.
        await StreamingClient.CompleteAsync(client, "bench", Prompt(), tokens);

        var results = new List<object>();
        double? single = null, sixteen = null;
        foreach (int clients in levels)
        {
            var (timings, wall) = await Round(client, clients, requests, () => Prompt(), tokens);
            var level = Summarize(clients, timings, wall);
            results.Add(level.Json);
            single = clients == 1 ? level.TokensPerSecond : single;
            sixteen = clients <= 16 && clients > 1 ? level.TokensPerSecond : sixteen;
        }

        object? soak = null;
        if (soakRequests > 0)
        {
            soak = await Soak(client, soakClients, soakRequests, () => Prompt(), tokens, blocks);
        }

        var output = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["tokens"] = tokens,
            ["promptTokens"] = promptTokens,
            ["requestsPerClient"] = requests,
            ["levels"] = results,
            ["throughputRatio16to1"] = single is > 0 && sixteen is not null ? sixteen / single : null,
            ["soak"] = soak,
        };
        Console.WriteLine(JsonSerializer.Serialize(output, Indented));
        return 0;
    }

    /// <summary>N clients, each sending <paramref name="requests"/> streamed requests in turn; returns every timing and the wall time.</summary>
    private static async Task<(List<StreamTiming> Timings, double Wall)> Round(HttpClient client, int clients, int requests, Func<int[]> prompt, int tokens,
        Action<int>? afterEach = null)
    {
        var timings = new List<StreamTiming>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (int r = 0; r < requests; r++)
            {
                int[] ids;
                lock (timings)
                {
                    ids = prompt();
                }

                var timing = await StreamingClient.CompleteAsync(client, "bench", ids, tokens).ConfigureAwait(false);
                lock (timings)
                {
                    timings.Add(timing);
                    afterEach?.Invoke(timings.Count);
                }
            }
        }));
        return (timings, clock.Elapsed.TotalSeconds);
    }

    private static (double TokensPerSecond, Dictionary<string, object?> Json) Summarize(int clients, List<StreamTiming> timings, double wall)
    {
        double tokensPerSecond = timings.Sum(t => t.Tokens) / wall;
        var ttft = timings.Where(t => t.Tokens > 0).Select(t => t.TimeToFirstToken).ToList();
        var gaps = timings.SelectMany(t => t.InterTokenLatencies).ToList();
        return (tokensPerSecond, new Dictionary<string, object?>
        {
            ["clients"] = clients,
            ["requests"] = timings.Count,
            ["errors"] = timings.Count(t => t.Error is not null),
            ["firstError"] = timings.FirstOrDefault(t => t.Error is not null)?.Error,
            ["aggregateTokensPerSecond"] = tokensPerSecond,
            ["ttftMedianSeconds"] = ttft.Count > 0 ? BenchMath.Median(ttft) : null,
            ["ttftP99Seconds"] = Percentile(ttft, 0.99),
            ["interTokenP50Seconds"] = Percentile(gaps, 0.50),
            ["interTokenP99Seconds"] = Percentile(gaps, 0.99),
        });
    }

    private static async Task<Dictionary<string, object?>> Soak(HttpClient client, int clients, int requests, Func<int[]> prompt, int tokens,
        HyperDex.Runtime.Engine.KvBlockPool blocks)
    {
        // Resident memory after every tenth of the requests. Warm-up is the first tenth: by then the GC heap has grown to
        // what 32 concurrent streams keep live (measured: +5% over the point where as many answers as clients were in,
        // then flat from 10 to 60 requests per client), while a leak grows with every request and still shows over
        // the other nine tenths. The growth since each client's first answer is reported beside it.
        int total = clients * requests;
        long firstRss = 0;
        var samples = new List<long>();
        var (timings, wall) = await Round(client, clients, requests, prompt, tokens, done =>
        {
            if (done == clients)
            {
                firstRss = ResidentBytes();
            }

            if (done * 10L / total > (done - 1) * 10L / total && done < total)
            {
                samples.Add(ResidentBytes());
            }
        });
        await Task.Delay(200); // the last handlers release their slots after [DONE]
        long endRss = ResidentBytes();
        samples.Add(endRss);
        long warmRss = samples[0];
        var summary = Summarize(clients, timings, wall).Json;
        summary["residentBytesAfterFirstRequests"] = firstRss;
        summary["residentBytesAfterWarmup"] = warmRss;
        summary["residentBytesAtEnd"] = endRss;
        summary["residentBytesEachTenth"] = samples;
        summary["residentGrowthSinceFirstRequests"] = firstRss > 0 ? (double)(endRss - firstRss) / firstRss : null;
        summary["residentGrowth"] = warmRss > 0 ? (double)(endRss - warmRss) / warmRss : null;
        summary["kvBlocks"] = blocks.BlockCount;
        summary["kvBlocksFreeAtEnd"] = blocks.FreeBlocks;
        summary["pass"] = timings.All(t => t.Error is null) && blocks.FreeBlocks == blocks.BlockCount && warmRss > 0 && (double)(endRss - warmRss) / warmRss <= 0.05;
        return summary;
    }

    /// <summary>VmRSS of this process (server and clients) from /proc.</summary>
    private static long ResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static double? Percentile(List<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)];
    }
}
