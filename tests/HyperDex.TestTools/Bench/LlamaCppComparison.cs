using System.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.TestTools.Bench;

/// <summary>What the same-run comparison with llama.cpp measures.</summary>
public sealed record ComparisonOptions
{
    public int PromptTokens { get; init; } = 512;

    public int DecodeTokens { get; init; } = 128;

    public int Repetitions { get; init; } = 3;

    /// <summary>With it, every repetition is measured again while one competing busy thread runs.</summary>
    public bool Contention { get; init; }

    /// <summary>Greedy tokens compared after a prompt of as many tokens (0: no parity check).</summary>
    public int ParityTokens { get; init; }

    public int Seed { get; init; } = 7;

    /// <summary>Prompt tokens of the parity check (the first ones of the benchmark prompt).</summary>
    public int ParityPromptTokens => Math.Min(32, PromptTokens);

    /// <summary>Positions a sequence needs: the measured prompt and decode, or the parity check's.</summary>
    public int Positions => Math.Max(PromptTokens + DecodeTokens, ParityPromptTokens + ParityTokens) + 1;
}

/// <summary>Medians of one engine: prefill tokens/s of the prompt, decode tokens/s from depth 0 and after the prompt.</summary>
public sealed record EngineFigures(double PrefillTokensPerSecond, double DecodeDepth0TokensPerSecond, double DecodeTokensPerSecond,
    IReadOnlyList<double> PrefillSamples, IReadOnlyList<double> DecodeDepth0Samples, IReadOnlyList<double> DecodeSamples);

public sealed record ComparisonResult(EngineFigures Ours, EngineFigures LlamaCpp, EngineFigures? OursContended, EngineFigures? LlamaCppContended,
    IReadOnlyList<int>? OursGreedy, IReadOnlyList<int>? LlamaCppGreedy, IReadOnlyList<LogitStep>? TeacherForced);

/// <summary>
/// One step of the teacher-forced comparison (both engines fed the same tokens): whether the argmax agrees, the largest
/// logit difference, the spread of our logits, and our top-2 margin (an argmax that differs within the difference is a
/// near-tie, not a divergence).
/// </summary>
public sealed record LogitStep(int OursArgMax, int LlamaCppArgMax, double MaxAbsDifference, double OursStdDev, double OursTopMargin);

/// <summary>
/// Measures our engine and llama.cpp on the same weights in one process, alternating which goes first each repetition
/// so both see the same machine (this VM's bandwidth and load drift within minutes): prefill = the prompt from an
/// empty cache (ours in <see cref="TokenGeneration.PrefillChunk"/>-row steps as generation runs it, llama.cpp as one
/// 512-token batch as llama-bench's pp512 does); decode = greedy one-token steps from depth 0 (after one token) and
/// after the prompt (llama-bench's tg128 at -d 512). With <see cref="ComparisonOptions.Contention"/> every repetition
/// runs again beside one busy thread (<see cref="BusyThread"/>), for the speed each keeps under contention.
/// </summary>
public static class LlamaCppComparison
{
    public static ComparisonResult Run(HostEngine ours, LlamaCppModel llama, ComparisonOptions options)
    {
        if (ours.VocabSize != llama.VocabSize)
        {
            throw new InvalidOperationException($"vocabulary sizes differ: ours {ours.VocabSize}, llama.cpp {llama.VocabSize}");
        }

        var random = new Random(options.Seed);
        int[] prompt = Enumerable.Range(0, options.PromptTokens).Select(_ => random.Next(Math.Min(300, ours.VocabSize - 1), ours.VocabSize)).ToArray();
        var engines = new IBenchEngine[] { new OurEngine(ours, options.Positions), new LlamaEngine(llama) };
        List<int>? oursGreedy = null, llamaGreedy = null;
        List<LogitStep>? teacherForced = null;
        if (options.ParityTokens > 0)
        {
            oursGreedy = Greedy(engines[0], prompt.AsSpan(0, options.ParityPromptTokens), options.ParityTokens);
            llamaGreedy = Greedy(engines[1], prompt.AsSpan(0, options.ParityPromptTokens), options.ParityTokens);
            teacherForced = TeacherForced(engines, prompt.AsSpan(0, options.ParityPromptTokens), oursGreedy);
        }

        foreach (var engine in engines)
        {
            Measure(engine, prompt, 8); // warm-up: pages in the weights, JIT, thread pools
        }

        var uncontended = MeasureAll(engines, prompt, options);
        (EngineFigures, EngineFigures)? contended = null;
        if (options.Contention)
        {
            using var busy = new BusyThread();
            contended = MeasureAll(engines, prompt, options);
        }

        return new ComparisonResult(uncontended.Item1, uncontended.Item2, contended?.Item1, contended?.Item2, oursGreedy, llamaGreedy, teacherForced);
    }

    private static (EngineFigures, EngineFigures) MeasureAll(IBenchEngine[] engines, int[] prompt, ComparisonOptions options)
    {
        var samples = engines.Select(_ => (Prefill: new List<double>(), Depth0: new List<double>(), Decode: new List<double>())).ToArray();
        for (int rep = 0; rep < options.Repetitions; rep++)
        {
            for (int k = 0; k < engines.Length; k++)
            {
                int e = (rep + k) % engines.Length;
                var (prefill, depth0, decode) = Measure(engines[e], prompt, options.DecodeTokens);
                samples[e].Prefill.Add(prefill);
                samples[e].Depth0.Add(depth0);
                samples[e].Decode.Add(decode);
            }
        }

        var figures = samples.Select(s => new EngineFigures(BenchMath.Median(s.Prefill), BenchMath.Median(s.Depth0), BenchMath.Median(s.Decode),
            s.Prefill, s.Depth0, s.Decode)).ToArray();
        return (figures[0], figures[1]);
    }

    /// <summary>Returns (prefill tokens/s, decode tokens/s from depth 0, decode tokens/s after the prompt).</summary>
    private static (double Prefill, double Depth0, double Decode) Measure(IBenchEngine engine, int[] prompt, int decodeTokens)
    {
        var logits = new float[engine.VocabSize];
        engine.Reset();
        var clock = Stopwatch.StartNew();
        engine.Prefill(prompt, logits);
        double prefill = prompt.Length / clock.Elapsed.TotalSeconds;
        double decode = DecodeRate(engine, logits, decodeTokens);

        engine.Reset();
        engine.Prefill(prompt.AsSpan(0, 1), logits);
        double depth0 = DecodeRate(engine, logits, decodeTokens);
        return (prefill, depth0, decode);
    }

    private static double DecodeRate(IBenchEngine engine, float[] logits, int tokens)
    {
        int[] step = { Sampler.ArgMax(logits) };
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < tokens; i++)
        {
            engine.Forward(step, logits);
            step[0] = Sampler.ArgMax(logits);
        }

        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static List<int> Greedy(IBenchEngine engine, ReadOnlySpan<int> prompt, int tokens)
    {
        var logits = new float[engine.VocabSize];
        engine.Reset();
        engine.Prefill(prompt, logits);
        var generated = new List<int>();
        int[] step = { Sampler.ArgMax(logits) };
        for (int i = 0; i < tokens; i++)
        {
            generated.Add(step[0]);
            if (i + 1 < tokens)
            {
                engine.Forward(step, logits);
                step[0] = Sampler.ArgMax(logits);
            }
        }

        return generated;
    }

    /// <summary>Feeds both engines the prompt and then our greedy tokens, comparing their logits at every step.</summary>
    private static List<LogitStep> TeacherForced(IBenchEngine[] engines, ReadOnlySpan<int> prompt, List<int> tokens)
    {
        var ours = new float[engines[0].VocabSize];
        var theirs = new float[engines[1].VocabSize];
        engines[0].Reset();
        engines[1].Reset();
        engines[0].Prefill(prompt, ours);
        engines[1].Prefill(prompt, theirs);
        var steps = new List<LogitStep>();
        int[] step = new int[1];
        for (int i = 0; ; i++)
        {
            steps.Add(Compare(ours, theirs));
            if (i + 1 >= tokens.Count)
            {
                return steps;
            }

            step[0] = tokens[i];
            engines[0].Forward(step, ours);
            engines[1].Forward(step, theirs);
        }
    }

    private static LogitStep Compare(float[] ours, float[] theirs)
    {
        double maxDifference = 0, sum = 0, squares = 0;
        float best = float.NegativeInfinity, second = float.NegativeInfinity;
        for (int v = 0; v < ours.Length; v++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs(ours[v] - theirs[v]));
            sum += ours[v];
            squares += (double)ours[v] * ours[v];
            if (ours[v] > best)
            {
                second = best;
                best = ours[v];
            }
            else if (ours[v] > second)
            {
                second = ours[v];
            }
        }

        double mean = sum / ours.Length;
        return new LogitStep(Sampler.ArgMax(ours), Sampler.ArgMax(theirs), maxDifference,
            Math.Sqrt(Math.Max(0, squares / ours.Length - mean * mean)), best - second);
    }

    private interface IBenchEngine
    {
        int VocabSize { get; }

        void Reset();

        void Prefill(ReadOnlySpan<int> prompt, Span<float> logits);

        void Forward(ReadOnlySpan<int> tokens, Span<float> logits);
    }

    private sealed class OurEngine(HostEngine engine, int capacity) : IBenchEngine
    {
        private KvSequence? _sequence;

        public int VocabSize => engine.VocabSize;

        public void Reset()
        {
            _sequence?.Dispose();
            _sequence = engine.CreateSequence(capacity);
        }

        public void Prefill(ReadOnlySpan<int> prompt, Span<float> logits)
        {
            for (int offset = 0; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
            {
                engine.Forward(_sequence!, prompt.Slice(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
            }
        }

        public void Forward(ReadOnlySpan<int> tokens, Span<float> logits) => engine.Forward(_sequence!, tokens, logits);
    }

    private sealed class LlamaEngine(LlamaCppModel model) : IBenchEngine
    {
        public int VocabSize => model.VocabSize;

        public void Reset() => model.Reset();

        public void Prefill(ReadOnlySpan<int> prompt, Span<float> logits) => model.Forward(prompt, logits);

        public void Forward(ReadOnlySpan<int> tokens, Span<float> logits) => model.Forward(tokens, logits);
    }
}
