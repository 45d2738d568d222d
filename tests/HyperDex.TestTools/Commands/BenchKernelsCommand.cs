using System.Diagnostics;
using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Engine.Kernels;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-kernels [--buffer-mib 512] [--repetitions 5] [--portable] [--model DIR [--threads N] [--compile-from HFDIR --dtype fp16]]`: the engine's projection kernels on bench-1b and
/// bench-110m shapes, through <see cref="ProjectionJob"/> on a <see cref="ComputePool"/> of every core exactly as the
/// engine runs them. Decode figures are weight GB/s over the read bandwidth, prefill ones GFLOP/s over the FMA peak,
/// both probed in the same run. With `--model DIR` (a compiled model) it also times whole engine steps: a 512-row
/// prefill (FLOP efficiency from the projection and attention FLOPs) and 1-row decode steps (weight bytes per step
/// over the step time, as bandwidth efficiency). Prints a table, then one JSON line.
/// </summary>
public sealed unsafe class BenchKernelsCommand : ITestToolCommand
{
    public string Name => "bench-kernels";

    public int Run(ToolArguments arguments)
    {
        int repetitions = arguments.GetInt("repetitions", 5);
        DotKernels.ForcePortable = arguments.Has("portable");
        double bandwidth = MachineProbe.MeasureReadBandwidth(arguments.GetInt("buffer-mib", 512) * (1L << 20));
        double peak = MachineProbe.MeasurePeakFlops();
        using var pool = new ComputePool(Environment.ProcessorCount, "bench");
        var rows = new List<object>();
        Console.WriteLine($"read bandwidth {bandwidth / 1e9:F1} GB/s, FMA peak {peak / 1e9:F1} GFLOP/s, {MachineProbe.VectorPath}, portable={DotKernels.ForcePortable}");
        Console.WriteLine($"{"kernel",-34} {"shape",-22} {"GB/s",8} {"GFLOP/s",8} {"of limit",9}");

        // Decode: bench-1b's MLP (gate + up fused, then down) for one token; far larger than the caches.
        foreach (var dtype in new[] { HdxDtype.F16, HdxDtype.BF16, HdxDtype.Q8, HdxDtype.F32 })
        {
            using var gateUp = new BenchMatrix(dtype, 2 * 8192, 2048);
            using var down = new BenchMatrix(dtype, 2048, 8192);
            var first = gateUp.Job(1, pool.Workers);
            var second = down.Job(1, pool.Workers);
            double seconds = Time(repetitions, () =>
            {
                first.Run(pool);
                second.Run(pool);
            });
            double bytes = gateUp.Bytes + down.Bytes;
            rows.Add(Report($"decode matvec {dtype}", "16384x2048 + 2048x8192", bytes / seconds, 2.0 * (gateUp.Elements + down.Elements) / seconds, bytes / seconds / bandwidth));
        }

        // The same decode kernels on a matrix that stays in the caches: their compute ceiling, the most they could
        // stream when the memory is faster than they are.
        foreach (var dtype in new[] { HdxDtype.F16, HdxDtype.BF16, HdxDtype.Q8, HdxDtype.F32 })
        {
            using var small = new BenchMatrix(dtype, 1024, 512);
            var job = small.Job(1, pool.Workers);
            const int calls = 200;
            double seconds = Time(repetitions, () =>
            {
                for (int i = 0; i < calls; i++)
                {
                    job.Run(pool);
                }
            }) / calls;
            rows.Add(Report($"decode matvec {dtype} in cache", "1024x512", small.Bytes / seconds, 2.0 * small.Elements / seconds, small.Bytes / seconds / bandwidth));
        }

        // Prefill: 512 prompt rows through bench-1b's gate/up and bench-110m's q/k/v-sized projection.
        foreach (var (dtype, outRows, cols, label) in new[]
        {
            (HdxDtype.F16, 2 * 8192, 2048, "bench-1b gate+up"), (HdxDtype.F16, 2048, 8192, "bench-1b down"),
            (HdxDtype.F16, 3 * 768, 768, "bench-110m qkv"), (HdxDtype.Q8, 2 * 8192, 2048, "bench-1b gate+up"),
        })
        {
            const int tokens = 512;
            using var matrix = new BenchMatrix(dtype, outRows, cols);
            var job = matrix.Job(tokens, pool.Workers);
            double seconds = Time(repetitions, () => job.Run(pool));
            double flops = 2.0 * matrix.Elements * tokens;
            rows.Add(Report($"prefill gemm {dtype} {label}", $"{tokens}x{cols} -> {outRows}", matrix.Bytes / seconds, flops / seconds, flops / seconds / peak));
        }

        if (arguments.Has("compile-from") && !File.Exists(CompiledLayout.Manifest(arguments.Get("model"))))
        {
            ModelCompiler.Compile(new CompileOptions
            {
                SourcePath = arguments.Get("compile-from"),
                OutputPath = arguments.Get("model"),
                Dtype = HdxDtypeNames.TryParse(arguments.Get("dtype", "fp16"), out var dtype) ? dtype : throw new ArgumentException("--dtype"),
            }, NullReporter.Instance, CancellationToken.None);
        }

        if (arguments.Has("model"))
        {
            rows.AddRange(MeasureModel(arguments.Get("model"), arguments.Has("threads") ? arguments.GetInt("threads", 0) : null, repetitions, bandwidth, peak));
        }

        Console.WriteLine(JsonSerializer.Serialize(new { readBandwidthBytesPerSecond = bandwidth, peakFlopsPerSecond = peak, portable = DotKernels.ForcePortable, kernels = rows }));
        return 0;
    }

    private static IEnumerable<object> MeasureModel(string path, int? threads, int repetitions, double bandwidth, double peak)
    {
        const int promptRows = 512;
        const int decodeSteps = 32;
        using var engine = HostEngine.Load(path, 1, new HostEngineOptions { ThreadsPerDevice = threads });
        var index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(path, 1, 0));
        var matrices = index.Tensors.Where(t => t.Shape.Count == 2 && t.Name != "embed").ToList();
        // Tied embeddings on one device: the logits read embed itself.
        var head = matrices.FirstOrDefault(t => t.Name == "lm_head") ?? index.Tensors.First(t => t.Name == "embed");
        long weightBytes = matrices.Sum(t => t.Length) + (head.Name == "embed" ? head.Length : 0);
        long layerParameters = matrices.Where(t => t.Name != "lm_head").Sum(t => (long)t.Shape[0] * t.Shape[1]);
        int[] prompt = Enumerable.Range(0, promptRows).Select(i => (i * 7919 + 13) % engine.VocabSize).ToArray();
        var logits = new float[engine.VocabSize];
        var program = CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(path, 1, 0));
        double attentionFlops = program.Instructions.Where(i => i.Op == OpCode.Attention)
            .Sum(i => 2.0 * 2 * (promptRows * (promptRows + 1) / 2.0) * i.Attributes["heads"] * i.Attributes["headDim"]);
        double prefillFlops = 2.0 * promptRows * layerParameters + 2.0 * head.Shape[0] * head.Shape[1] + attentionFlops;

        double prefill = Time(repetitions, () =>
        {
            using var sequence = engine.CreateSequence(promptRows);
            engine.Forward(sequence, prompt, logits);
        });
        using var decodeSequence = engine.CreateSequence(promptRows + decodeSteps * (repetitions + 1));
        engine.Forward(decodeSequence, prompt, logits);
        int[] token = [1];
        double decode = Time(repetitions, () =>
        {
            for (int i = 0; i < decodeSteps; i++)
            {
                engine.Forward(decodeSequence, token, logits);
            }
        }) / decodeSteps;
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        yield return Report($"engine prefill {name}", $"{promptRows} rows", 0, prefillFlops / prefill, prefillFlops / prefill / peak);
        yield return Report($"engine decode {name}", "1 row", weightBytes / decode, 0, weightBytes / decode / bandwidth);
    }

    private static object Report(string kernel, string shape, double bytesPerSecond, double flopsPerSecond, double ofLimit)
    {
        Console.WriteLine($"{kernel,-34} {shape,-22} {bytesPerSecond / 1e9,8:F1} {flopsPerSecond / 1e9,8:F1} {ofLimit,8:P0}");
        return new { kernel, shape, bytesPerSecond, flopsPerSecond, ofLimit };
    }

    /// <summary>Median seconds of one call after a warm-up call.</summary>
    private static double Time(int repetitions, Action body)
    {
        body();
        var samples = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            var watch = Stopwatch.StartNew();
            body();
            samples.Add(watch.Elapsed.TotalSeconds);
        }

        return BenchMath.Median(samples);
    }

    /// <summary>A random weight matrix in an image dtype, in native memory on huge pages like a mapped image.</summary>
    private sealed class BenchMatrix : IDisposable
    {
        private readonly HugePageMemory _memory;
        private readonly byte* _data;

        public BenchMatrix(HdxDtype dtype, int rows, int cols)
        {
            Bytes = WeightTiles.MatrixBytes(dtype, rows, cols);
            Elements = (long)rows * cols;
            _memory = new HugePageMemory(Bytes);
            _data = _memory.Pointer;
            var random = new Random(7);
            var row = new float[cols];
            using var stream = new UnmanagedMemoryStream(_data, 0, Bytes, FileAccess.Write);
            var writer = new TiledMatrixWriter("bench", dtype, cols, stream);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    row[c] = (float)(random.NextDouble() - 0.5);
                }

                writer.AddRow(row);
            }

            writer.Complete();
            Weight = new WeightTensor("bench", dtype, rows, cols, _data, Bytes);
        }

        public WeightTensor Weight { get; }

        public long Bytes { get; }

        public long Elements { get; }

        public ProjectionJob Job(int tokens, int workers)
        {
            var input = new ActivationBuffer("x", Weight.Cols, tokens);
            var random = new Random(3);
            for (int i = 0; i < input.Data.Length; i++)
            {
                input.Data[i] = (float)(random.NextDouble() - 0.5);
            }

            var output = new ActivationBuffer("y", Weight.Rows, tokens);
            return new ProjectionJob([new ProjectionJob.Target(Weight, output, 0, null)], workers) { Input = input, Rows = tokens };
        }

        public void Dispose() => _memory.Dispose();
    }
}
