using System.Diagnostics;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.TestTools.Bench;

/// <summary>What one model is measured with.</summary>
public sealed record ModelBenchmarkOptions
{
    public int PromptTokens { get; init; } = 512;

    public int DecodeTokens { get; init; } = 128;

    public int Repetitions { get; init; } = 3;

    /// <summary>Decode steps of the untimed warm-up repetition (its prefill is full length).</summary>
    public int WarmupDecodeTokens { get; init; } = 8;

    public int Seed { get; init; } = 7;

    /// <summary>
    /// Read bandwidth now (bytes/s); with it, each timed decode is cut into windows of <see cref="ProbeEvery"/> steps
    /// with a probe between windows (outside the steps' timing), so each window has the bandwidth of its own moments.
    /// </summary>
    public Func<double>? BandwidthProbe { get; init; }

    public int ProbeEvery { get; init; } = 8;
}

/// <summary>A run of decode steps and the read bandwidth probed right before and right after it.</summary>
public sealed record DecodeWindow(int Tokens, double Seconds, double BandwidthBefore, double BandwidthAfter);

/// <summary>Medians of the repetitions, and every sample.</summary>
public sealed record ModelBenchmarkResult(
    double LoadSeconds,
    double PrefillSeconds,
    double TimeToFirstTokenSeconds,
    double DecodeSeconds,
    IReadOnlyList<double> PrefillSamples,
    IReadOnlyList<double> TimeToFirstTokenSamples,
    IReadOnlyList<double> DecodeSamples,
    IReadOnlyList<DecodeWindow> DecodeWindows,
    double KvBytesPerPosition,
    double CpuShare);

/// <summary>
/// Runs a compiled model through the host engine the way generation does (prompt in
/// <see cref="TokenGeneration.PrefillChunk"/>-row steps, then one token per step, greedy), on token ids drawn from a
/// seeded generator: the generated tokenizer covers only a few hundred ids, and the engine, not tokenization, is what
/// is measured here. Time to first token = sequence creation + prefill + picking the token.
/// </summary>
public static class ModelBenchmark
{
    public static ModelBenchmarkResult Run(string modelPath, ModelBenchmarkOptions options)
    {
        var load = Stopwatch.StartNew();
        using var engine = HostEngine.Load(modelPath);
        load.Stop();

        var random = new Random(options.Seed);
        int[] prompt = Enumerable.Range(0, options.PromptTokens).Select(_ => random.Next(Math.Min(300, engine.VocabSize - 1), engine.VocabSize)).ToArray();
        var logits = new float[engine.VocabSize];

        RunOnce(engine, prompt, options with { DecodeTokens = options.WarmupDecodeTokens }, logits, null);
        var prefill = new List<double>();
        var ttft = new List<double>();
        var decode = new List<double>();
        var windows = new List<DecodeWindow>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int rep = 0; rep < options.Repetitions; rep++)
        {
            var (p, t, d, w) = RunOnce(engine, prompt, options, logits, options.BandwidthProbe);
            prefill.Add(p);
            ttft.Add(t);
            decode.Add(d);
            windows.AddRange(w);
        }

        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double cpuShare = cpu / (wall.Elapsed.TotalSeconds * Environment.ProcessorCount);
        return new ModelBenchmarkResult(load.Elapsed.TotalSeconds, BenchMath.Median(prefill), BenchMath.Median(ttft), BenchMath.Median(decode),
            prefill, ttft, decode, windows, KvBytesPerPosition(engine, modelPath), cpuShare);
    }

    /// <summary>Returns (prefill seconds, time to first token, seconds of the decode steps, the probed windows).</summary>
    private static (double Prefill, double FirstToken, double Decode, List<DecodeWindow> Windows) RunOnce(HostEngine engine, int[] prompt,
        ModelBenchmarkOptions options, float[] logits, Func<double>? probe)
    {
        var clock = Stopwatch.StartNew();
        using var sequence = engine.CreateSequence(prompt.Length + options.DecodeTokens);
        var prefillStart = clock.Elapsed;
        for (int offset = 0; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
        {
            engine.Forward(sequence, prompt.AsSpan(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
        }

        double prefill = (clock.Elapsed - prefillStart).TotalSeconds;
        int[] step = { Sampler.ArgMax(logits) };
        double firstToken = clock.Elapsed.TotalSeconds;
        var windows = new List<DecodeWindow>();
        double decode = 0;
        double before = probe?.Invoke() ?? double.NaN;
        for (int done = 0; done < options.DecodeTokens;)
        {
            int tokens = Math.Min(options.ProbeEvery, options.DecodeTokens - done);
            var windowStart = clock.Elapsed;
            for (int i = 0; i < tokens; i++)
            {
                engine.Forward(sequence, step, logits);
                step[0] = Sampler.ArgMax(logits);
            }

            double seconds = (clock.Elapsed - windowStart).TotalSeconds;
            double after = probe?.Invoke() ?? double.NaN;
            windows.Add(new DecodeWindow(tokens, seconds, before, after));
            decode += seconds;
            done += tokens;
            before = after;
        }

        return (prefill, firstToken, decode, windows);
    }

    /// <summary>The engine's KV pool bytes (its memory beyond the weight images) per position it holds.</summary>
    private static double KvBytesPerPosition(HostEngine engine, string modelPath)
    {
        long images = Enumerable.Range(0, engine.NumDevice)
            .Sum(d => new FileInfo(CompiledLayout.ParamImage(modelPath, engine.NumDevice, d)).Length);
        return (engine.MemoryBytes - images) / ((double)engine.Blocks.BlockCount * engine.Blocks.BlockSize);
    }
}
