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

    /// <summary>Read bandwidth now (bytes/s); called right before and right after each timed decode.</summary>
    public Func<double>? BandwidthProbe { get; init; }
}

/// <summary>Medians of the repetitions, and every sample.</summary>
public sealed record ModelBenchmarkResult(
    double LoadSeconds,
    double PrefillSeconds,
    double TimeToFirstTokenSeconds,
    double DecodeSeconds,
    IReadOnlyList<double> PrefillSamples,
    IReadOnlyList<double> TimeToFirstTokenSamples,
    IReadOnlyList<double> DecodeSamples,
    IReadOnlyList<double> DecodeBandwidthSamples,
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

        RunOnce(engine, prompt, options.WarmupDecodeTokens, logits, null);
        var prefill = new List<double>();
        var ttft = new List<double>();
        var decode = new List<double>();
        var bandwidth = new List<double>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int rep = 0; rep < options.Repetitions; rep++)
        {
            var (p, t, d, b) = RunOnce(engine, prompt, options.DecodeTokens, logits, options.BandwidthProbe);
            prefill.Add(p);
            ttft.Add(t);
            decode.Add(d);
            bandwidth.Add(b);
        }

        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double cpuShare = cpu / (wall.Elapsed.TotalSeconds * Environment.ProcessorCount);
        return new ModelBenchmarkResult(load.Elapsed.TotalSeconds, BenchMath.Median(prefill), BenchMath.Median(ttft), BenchMath.Median(decode),
            prefill, ttft, decode, bandwidth, KvBytesPerPosition(engine, modelPath), cpuShare);
    }

    /// <summary>
    /// Returns (prefill seconds, time to first token, seconds of the decode steps, the mean of the bandwidth probed
    /// right before and right after the decode, or NaN without a probe).
    /// </summary>
    private static (double Prefill, double FirstToken, double Decode, double Bandwidth) RunOnce(HostEngine engine, int[] prompt, int decodeTokens,
        float[] logits, Func<double>? probe)
    {
        var clock = Stopwatch.StartNew();
        using var sequence = engine.CreateSequence(prompt.Length + decodeTokens);
        var prefillStart = clock.Elapsed;
        for (int offset = 0; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
        {
            engine.Forward(sequence, prompt.AsSpan(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
        }

        double prefill = (clock.Elapsed - prefillStart).TotalSeconds;
        int[] step = { BenchMath.ArgMax(logits) };
        double firstToken = clock.Elapsed.TotalSeconds;
        double before = probe?.Invoke() ?? double.NaN;
        var decodeStart = clock.Elapsed;
        for (int i = 0; i < decodeTokens; i++)
        {
            engine.Forward(sequence, step, logits);
            step[0] = BenchMath.ArgMax(logits);
        }

        double decode = (clock.Elapsed - decodeStart).TotalSeconds;
        double after = probe?.Invoke() ?? double.NaN;
        return (prefill, firstToken, decode, (before + after) / 2);
    }

    /// <summary>The engine's KV pool bytes (its memory beyond the weight images) per position it holds.</summary>
    private static double KvBytesPerPosition(HostEngine engine, string modelPath)
    {
        long images = Enumerable.Range(0, engine.NumDevice)
            .Sum(d => new FileInfo(CompiledLayout.ParamImage(modelPath, engine.NumDevice, d)).Length);
        return (engine.MemoryBytes - images) / ((double)engine.Blocks.BlockCount * engine.Blocks.BlockSize);
    }
}
