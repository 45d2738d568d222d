using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// The server's counters and histograms, written in the Prometheus text exposition format (version 0.0.4) at
/// /metrics. Names follow vLLM's where one exists (hdx_ instead of vllm:). Per-model gauges (KV cache, running
/// sequences, prefix cache) are read from the models at scrape time.
/// </summary>
internal sealed class ServerMetrics
{
    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, ModelCounters> _models = new(StringComparer.Ordinal);

    public long Requests => _requests.Values.Sum();

    public void Request(string endpoint, int status) => _requests.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);

    public ModelCounters For(string model) => _models.GetOrAdd(model, _ => new ModelCounters());

    public string Render(IReadOnlyList<ServedModel> models, int queued)
    {
        var text = new StringBuilder();
        Header(text, "hdx_requests_total", "counter", "HTTP requests by endpoint and status code.");
        foreach (var ((endpoint, status), count) in _requests.OrderBy(r => r.Key.Endpoint, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
        {
            text.Append(CultureInfo.InvariantCulture, $"hdx_requests_total{{endpoint=\"{Escape(endpoint)}\",status=\"{status}\"}} {count}\n");
        }

        Header(text, "hdx_requests_queued", "gauge", "Requests waiting for a slot (MaxConcurrentRequests).");
        text.Append(CultureInfo.InvariantCulture, $"hdx_requests_queued {queued}\n");
        Gauge(text, models, "hdx_requests_running", "Generations in the model's batch scheduler.", m => m.Scheduler.Running);
        Counter(text, models, "hdx_prompt_tokens_total", "Prompt tokens of finished and running requests.", c => c.PromptTokens);
        Counter(text, models, "hdx_generation_tokens_total", "Tokens generated.", c => c.GeneratedTokens);
        Gauge(text, models, "hdx_kv_cache_blocks", "KV cache blocks of the model's pool.", m => m.Model.Engine.Blocks.BlockCount);
        Gauge(text, models, "hdx_kv_cache_blocks_used", "KV cache blocks held by running sequences.",
            m => m.Model.Engine.Blocks.BlockCount - m.Model.Engine.Blocks.FreeBlocks);
        Gauge(text, models, "hdx_kv_cache_usage_ratio", "Fraction of KV cache blocks held by running sequences (0..1).",
            m => (double)(m.Model.Engine.Blocks.BlockCount - m.Model.Engine.Blocks.FreeBlocks) / m.Model.Engine.Blocks.BlockCount);
        Gauge(text, models, "hdx_prefix_cache_hits_total", "Prompt tokens served from the prefix cache since the model was loaded.",
            m => m.Model.Engine.Blocks.Statistics.Hits, "counter");
        Gauge(text, models, "hdx_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache since the model was loaded.",
            m => m.Model.Engine.Blocks.Statistics.Hits + m.Model.Engine.Blocks.Statistics.Misses, "counter");
        Histogram(text, models, "hdx_time_to_first_token_seconds", "From the request's arrival to its first generated token.", c => c.TimeToFirstToken);
        Histogram(text, models, "hdx_inter_token_latency_seconds", "Between consecutive tokens of one response.", c => c.InterTokenLatency);
        Histogram(text, models, "hdx_request_duration_seconds", "From the request's arrival to its last token.", c => c.Duration);
        return text.ToString();
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private void Counter(StringBuilder text, IReadOnlyList<ServedModel> models, string name, string help, Func<ModelCounters, long> value)
    {
        Header(text, name, "counter", help);
        foreach (var model in models)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{model=\"{Escape(model.Name)}\"}} {value(For(model.Name))}\n");
        }
    }

    private static void Gauge(StringBuilder text, IReadOnlyList<ServedModel> models, string name, string help, Func<ServedModel, double> value,
        string type = "gauge")
    {
        Header(text, name, type, help);
        foreach (var model in models)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{model=\"{Escape(model.Name)}\"}} {value(model)}\n");
        }
    }

    private void Histogram(StringBuilder text, IReadOnlyList<ServedModel> models, string name, string help, Func<ModelCounters, LatencyHistogram> value)
    {
        Header(text, name, "histogram", help);
        foreach (var model in models)
        {
            value(For(model.Name)).Write(text, name, $"model=\"{Escape(model.Name)}\"");
        }
    }

    internal sealed class ModelCounters
    {
        private long _promptTokens;
        private long _generatedTokens;

        public long PromptTokens => Interlocked.Read(ref _promptTokens);

        public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

        public LatencyHistogram TimeToFirstToken { get; } = new();

        public LatencyHistogram InterTokenLatency { get; } = new();

        public LatencyHistogram Duration { get; } = new();

        public void AddPrompt(int tokens) => Interlocked.Add(ref _promptTokens, tokens);

        public void AddGenerated() => Interlocked.Increment(ref _generatedTokens);
    }
}
