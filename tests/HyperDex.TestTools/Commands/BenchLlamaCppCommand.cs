using System.Globalization;
using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-llamacpp --model COMPILED_DIR --gguf FILE [--prompt 512] [--decode 128] [--reps 3] [--parity 32] [--contention]
/// [--native LLAMA_STEP]`:
/// loads a compiled model into our engine and the same weights' GGUF into llama.cpp, and prints as JSON both engines'
/// prefill and decode figures measured interleaved (see <see cref="LlamaCppComparison"/>), the ratios ours/llama.cpp,
/// llama.cpp's system info and, with --parity N, both engines' greedy tokens and how many agree from the start; with
/// --contention, the figures beside one busy thread and each engine's contended/uncontended ratios; with --native, a
/// natively built llama.cpp (<see cref="NativeLlamaStep"/>) on the same GGUF, interleaved with both, and our figures
/// over its.
/// </summary>
public sealed class BenchLlamaCppCommand : ITestToolCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string Name => "bench-llamacpp";

    public int Run(ToolArguments arguments)
    {
        string model = Path.GetFullPath(arguments.Get("model"));
        string gguf = Path.GetFullPath(arguments.Get("gguf"));
        var options = new ComparisonOptions
        {
            PromptTokens = arguments.GetInt("prompt", 512),
            DecodeTokens = arguments.GetInt("decode", 128),
            Repetitions = arguments.GetInt("reps", 3),
            ParityTokens = arguments.GetInt("parity", 0),
            Contention = arguments.Has("contention"),
        };
        int threads = Environment.ProcessorCount;
        string loadBefore = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        string systemInfo = LlamaCppModel.SystemInfo();
        using var ours = HostEngine.Load(model);
        using var llama = new LlamaCppModel(gguf, options.Positions, threads);
        using var native = arguments.Has("native") ? new NativeLlamaStep(Path.GetFullPath(arguments.Get("native")), gguf, options.Positions, threads) : null;
        var r = LlamaCppComparison.Run(ours, llama, options, native);
        string loadAfter = File.ReadAllText("/proc/loadavg").Split(' ')[0];

        static object Ratios(EngineFigures a, EngineFigures b) => new
        {
            prefill = a.PrefillTokensPerSecond / b.PrefillTokensPerSecond,
            decodeDepth0 = a.DecodeDepth0TokensPerSecond / b.DecodeDepth0TokensPerSecond,
            decode = a.DecodeTokensPerSecond / b.DecodeTokensPerSecond,
        };
        int matching = r.OursGreedy is null ? 0 : r.OursGreedy.Zip(r.LlamaCppGreedy!).TakeWhile(p => p.First == p.Second).Count();
        var result = new
        {
            model,
            gguf,
            dtype = CompiledModelFiles.ReadManifest(model).Dtype.ToUserName(),
            promptTokens = options.PromptTokens,
            decodeTokens = options.DecodeTokens,
            repetitions = options.Repetitions,
            threads,
            llamaCppSystemInfo = systemInfo,
            ours = r.Ours,
            llamaCpp = r.LlamaCpp,
            oursOverLlamaCpp = Ratios(r.Ours, r.LlamaCpp),
            native = r.Native is null ? null : new
            {
                figures = r.Native,
                oursOverNative = Ratios(r.Ours, r.Native),
            },
            contention = r.OursContended is null ? null : new
            {
                competingThreads = 1,
                ours = r.OursContended,
                llamaCpp = r.LlamaCppContended,
                oursKept = Ratios(r.OursContended, r.Ours),
                llamaCppKept = Ratios(r.LlamaCppContended!, r.LlamaCpp),
            },
            parity = r.OursGreedy is null ? null : new
            {
                ours = r.OursGreedy,
                llamaCpp = r.LlamaCppGreedy,
                matching,
                of = r.OursGreedy.Count,
                // Both fed our tokens: a free-running greedy comparison stops meaning anything after the first
                // near-tie, this one keeps comparing every step.
                teacherForced = new
                {
                    steps = r.TeacherForced!.Count,
                    argMaxAgree = r.TeacherForced.Count(s => s.OursArgMax == s.LlamaCppArgMax),
                    nearTies = r.TeacherForced.Count(s => s.OursArgMax != s.LlamaCppArgMax && s.OursTopMargin <= 2 * s.MaxAbsDifference),
                    maxAbsDifference = r.TeacherForced.Max(s => s.MaxAbsDifference),
                    maxDifferenceOverStdDev = r.TeacherForced.Max(s => s.MaxAbsDifference / s.OursStdDev),
                    perStep = r.TeacherForced,
                },
            },
            loadAverageBefore = double.Parse(loadBefore, CultureInfo.InvariantCulture),
            loadAverageAfter = double.Parse(loadAfter, CultureInfo.InvariantCulture),
        };
        Console.WriteLine(JsonSerializer.Serialize(result, Json));
        return 0;
    }
}
