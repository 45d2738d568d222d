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

/// <summary>Both engines' figures, those beside a busy thread, the parity checks and, if measured, a native llama.cpp's.</summary>
public sealed record ComparisonResult(EngineFigures Ours, EngineFigures LlamaCpp, EngineFigures? OursContended, EngineFigures? LlamaCppContended,
    IReadOnlyList<int>? OursGreedy, IReadOnlyList<int>? LlamaCppGreedy, IReadOnlyList<LogitStep>? TeacherForced, EngineFigures? Native);

/// <summary>
/// One step of the teacher-forced comparison (both engines fed the same tokens): whether the argmax agrees, the largest
/// logit difference, the spread of our logits, and our top-2 margin (an argmax that differs within the difference is a
/// near-tie, not a divergence).
/// </summary>
public sealed record LogitStep(int OursArgMax, int LlamaCppArgMax, double MaxAbsDifference, double OursStdDev, double OursTopMargin);

/// <summary>
/// Measures our engine and llama.cpp (LLamaSharp's build in this process and, if given, a native build in a child
/// process, <see cref="NativeLlamaStep"/>) on the same weights, rotating which goes first each repetition and decoding
/// in turns of <see cref="DecodeChunk"/> steps so all see the same machine (this VM's bandwidth jumps between modes
/// lasting seconds and its load drifts within minutes): prefill = the prompt from an
/// empty cache (ours in <see cref="TokenGeneration.PrefillChunk"/>-row steps as generation runs it, llama.cpp as one
/// 512-token batch as llama-bench's pp512 does); decode = greedy one-token steps from depth 0 (after one token) and
/// after the prompt (llama-bench's tg128 at -d 512). With <see cref="ComparisonOptions.Contention"/> every repetition
/// runs again beside one busy thread (<see cref="BusyThread"/>), for the speed each keeps under contention.
/// </summary>
public static class LlamaCppComparison
{
    public static ComparisonResult Run(HostEngine ours, LlamaCppModel llama, ComparisonOptions options, NativeLlamaStep? native = null)
    {
        if (ours.VocabSize != llama.VocabSize || (native is not null && native.VocabSize != ours.VocabSize))
        {
            throw new InvalidOperationException($"vocabulary sizes differ: ours {ours.VocabSize}, llama.cpp {llama.VocabSize}, native {native?.VocabSize}");
        }

        var random = new Random(options.Seed);
        int[] prompt = Enumerable.Range(0, options.PromptTokens).Select(_ => random.Next(Math.Min(300, ours.VocabSize - 1), ours.VocabSize)).ToArray();
        var inProcess = new InProcessEngine[] { new OurEngine(ours, options.Positions), new LlamaEngine(llama) };
        List<int>? oursGreedy = null, llamaGreedy = null;
        List<LogitStep>? teacherForced = null;
        if (options.ParityTokens > 0)
        {
            oursGreedy = Greedy(inProcess[0], prompt.AsSpan(0, options.ParityPromptTokens), options.ParityTokens);
            llamaGreedy = Greedy(inProcess[1], prompt.AsSpan(0, options.ParityPromptTokens), options.ParityTokens);
            teacherForced = TeacherForced(inProcess, prompt.AsSpan(0, options.ParityPromptTokens), oursGreedy);
        }

        IBenchEngine[] engines = native is null ? inProcess : [.. inProcess, new NativeEngine(native)];
        MeasureRepetition(engines, prompt, 8, first: 0); // warm-up: pages in the weights, JIT, thread pools

        var uncontended = MeasureAll(engines, prompt, options);
        EngineFigures[]? contended = null;
        if (options.Contention)
        {
            // The yardstick under contention is the in-process llama.cpp, measured beside the same busy thread.
            using var busy = new BusyThread();
            contended = MeasureAll(inProcess, prompt, options);
        }

        return new ComparisonResult(uncontended[0], uncontended[1], contended?[0], contended?[1], oursGreedy, llamaGreedy, teacherForced,
            native is null ? null : uncontended[2]);
    }

    /// <summary>Every repetition of every engine, the one going first rotating; medians per engine.</summary>
    private static EngineFigures[] MeasureAll(IBenchEngine[] engines, int[] prompt, ComparisonOptions options)
    {
        var samples = engines.Select(_ => (Prefill: new List<double>(), Depth0: new List<double>(), Decode: new List<double>())).ToArray();
        for (int rep = 0; rep < options.Repetitions; rep++)
        {
            var figures = MeasureRepetition(engines, prompt, options.DecodeTokens, first: rep % engines.Length);
            for (int e = 0; e < engines.Length; e++)
            {
                samples[e].Prefill.Add(figures[e].Prefill);
                samples[e].Depth0.Add(figures[e].Depth0);
                samples[e].Decode.Add(figures[e].Decode);
            }
        }

        return samples.Select(s => new EngineFigures(BenchMath.Median(s.Prefill), BenchMath.Median(s.Depth0), BenchMath.Median(s.Decode),
            s.Prefill, s.Depth0, s.Decode)).ToArray();
    }

    /// <summary>
    /// Decode steps each engine runs before the next takes over. This VM's read bandwidth jumps between modes that
    /// last seconds, and a bench-1b decode of 128 tokens takes about 7 s: measured one engine after the other, a run
    /// could hand one engine a fast mode and the other a slow one. Alternating in chunks of about a second or less
    /// gives every engine the same mix of modes (the weights do not fit in any cache, so switching reloads nothing).
    /// </summary>
    internal const int DecodeChunk = 16;

    /// <summary>
    /// Untimed pause before each engine's turn: llama.cpp's OpenMP workers keep spinning for a while after its last
    /// step (libgomp's default wait policy), as ours do for a bounded time, and would otherwise take a core from the
    /// engine whose turn comes next. 50 ms lets them go idle; a continuous run never pays this, so no engine should.
    /// </summary>
    private const int SwitchSettle = 50;

    /// <summary>
    /// One repetition of every engine, <paramref name="first"/> going first: each prefills the prompt from an empty
    /// cache in turn, then all decode after it in alternating chunks, then all from depth 0 the same way.
    /// </summary>
    private static (double Prefill, double Depth0, double Decode)[] MeasureRepetition(IBenchEngine[] engines, int[] prompt, int decodeTokens, int first)
    {
        int[] order = Enumerable.Range(0, engines.Length).Select(k => (first + k) % engines.Length).ToArray();
        var prefill = new double[engines.Length];
        foreach (int e in order)
        {
            engines[e].Reset();
            prefill[e] = prompt.Length / engines[e].TimedPrefill(prompt);
        }

        double[] decode = DecodeRates(engines, order, decodeTokens);
        foreach (int e in order)
        {
            engines[e].Reset();
            engines[e].TimedPrefill(prompt.AsSpan(0, 1));
        }

        double[] depth0 = DecodeRates(engines, order, decodeTokens);
        return Enumerable.Range(0, engines.Length).Select(e => (prefill[e], depth0[e], decode[e])).ToArray();
    }

    /// <summary>Greedy decode tokens/s of every engine from its current state, in alternating <see cref="DecodeChunk"/>s.</summary>
    private static double[] DecodeRates(IBenchEngine[] engines, int[] order, int tokens)
    {
        var seconds = new double[engines.Length];
        for (int done = 0; done < tokens; done += DecodeChunk)
        {
            foreach (int e in order)
            {
                Thread.Sleep(SwitchSettle);
                seconds[e] += engines[e].TimedDecode(Math.Min(DecodeChunk, tokens - done));
            }
        }

        return seconds.Select(s => tokens / s).ToArray();
    }

    private static List<int> Greedy(InProcessEngine engine, ReadOnlySpan<int> prompt, int tokens)
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
    private static List<LogitStep> TeacherForced(InProcessEngine[] engines, ReadOnlySpan<int> prompt, List<int> tokens)
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

    /// <summary>An engine as the timing loop sees it: every call times itself, in seconds.</summary>
    private interface IBenchEngine
    {
        void Reset();

        /// <summary>Appends the prompt (from where the sequence stands) and keeps the last position's logits.</summary>
        double TimedPrefill(ReadOnlySpan<int> prompt);

        /// <summary>Greedy single-token steps from the last logits' argmax, as generation decodes.</summary>
        double TimedDecode(int steps);
    }

    /// <summary>An engine in this process, whose logits the parity checks can read.</summary>
    private abstract class InProcessEngine : IBenchEngine
    {
        private readonly int[] _step = new int[1];
        private float[]? _logits;

        public abstract int VocabSize { get; }

        private float[] Logits => _logits ??= new float[VocabSize];

        public abstract void Reset();

        public abstract void Prefill(ReadOnlySpan<int> prompt, Span<float> logits);

        public abstract void Forward(ReadOnlySpan<int> tokens, Span<float> logits);

        public double TimedPrefill(ReadOnlySpan<int> prompt)
        {
            long start = Stopwatch.GetTimestamp();
            Prefill(prompt, Logits);
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        public double TimedDecode(int steps)
        {
            _step[0] = Sampler.ArgMax(Logits);
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++)
            {
                Forward(_step, Logits);
                _step[0] = Sampler.ArgMax(Logits);
            }

            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }

    private sealed class OurEngine(HostEngine engine, int capacity) : InProcessEngine
    {
        private KvSequence? _sequence;

        public override int VocabSize => engine.VocabSize;

        public override void Reset()
        {
            _sequence?.Dispose();
            _sequence = engine.CreateSequence(capacity);
        }

        public override void Prefill(ReadOnlySpan<int> prompt, Span<float> logits)
        {
            for (int offset = 0; offset < prompt.Length; offset += TokenGeneration.PrefillChunk)
            {
                engine.Forward(_sequence!, prompt.Slice(offset, Math.Min(TokenGeneration.PrefillChunk, prompt.Length - offset)), logits);
            }
        }

        public override void Forward(ReadOnlySpan<int> tokens, Span<float> logits) => engine.Forward(_sequence!, tokens, logits);
    }

    private sealed class LlamaEngine(LlamaCppModel model) : InProcessEngine
    {
        public override int VocabSize => model.VocabSize;

        public override void Reset() => model.Reset();

        public override void Prefill(ReadOnlySpan<int> prompt, Span<float> logits) => model.Forward(prompt, logits);

        public override void Forward(ReadOnlySpan<int> tokens, Span<float> logits) => model.Forward(tokens, logits);
    }

    /// <summary>The native llama.cpp in its child process, which times its own steps.</summary>
    private sealed class NativeEngine(NativeLlamaStep native) : IBenchEngine
    {
        public void Reset() => native.Reset();

        public double TimedPrefill(ReadOnlySpan<int> prompt) => native.Prefill(prompt);

        public double TimedDecode(int steps) => native.Decode(steps);
    }
}
