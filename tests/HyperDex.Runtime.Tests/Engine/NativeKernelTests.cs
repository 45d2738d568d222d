using System.Runtime.InteropServices;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Engine.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// The native prefill kernels (src/native/hdxkernels: bf16 with AVX512-BF16, Q8 with AVX512-VNNI) against the managed
/// fp32 panels on generated weights at model-like widths, on the real stories260K, that the library is loaded where
/// it can be, and that the switch falls back to managed.
/// </summary>
[Collection(nameof(ProjectionKernelTests))]
public sealed unsafe class NativeKernelTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-native-").FullName;
    private readonly ITestOutputHelper _output;

    public NativeKernelTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void TheVariableDisablesOnlyWithAFalseValue()
    {
        Assert.True(NativeKernels.IsDisabledBy("0"));
        Assert.True(NativeKernels.IsDisabledBy(" off "));
        Assert.True(NativeKernels.IsDisabledBy("false"));
        Assert.False(NativeKernels.IsDisabledBy(null));
        Assert.False(NativeKernels.IsDisabledBy("1"));
        Assert.False(NativeKernels.IsDisabledBy(string.Empty));
    }

    /// <summary>Where the build produced the library and the CPU has the flag, a broken loader must not hide it.</summary>
    [SkippableFact]
    public void TheLibraryLoadsWhereItWasBuiltAndTheCpuHasAvx512Bf16()
    {
        string library = Path.Combine(Path.GetDirectoryName(typeof(NativeKernels).Assembly.Location)!, "runtimes", "linux-x64", "native", NativeKernels.LibraryName);
        Skip.IfNot(File.Exists(library), $"{library} was not built (no C compiler, or not linux-x64)");
        Skip.IfNot(File.ReadAllText("/proc/cpuinfo").Contains(" avx512_bf16", StringComparison.Ordinal), "this CPU lacks AVX512-BF16");
        Assert.True(NativeKernels.Bf16Gemm || NativeKernels.Disabled, NativeKernels.Status);
        Assert.Contains("AVX512-BF16", NativeKernels.Status, StringComparison.Ordinal);
        if (File.ReadAllText("/proc/cpuinfo").Contains(" avx512_vnni", StringComparison.Ordinal))
        {
            Assert.True(NativeKernels.Q8Gemm || NativeKernels.Disabled, NativeKernels.Status);
            Assert.StartsWith("AVX512-BF16 and AVX512-VNNI kernels from", NativeKernels.Status, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Rounding each activation to bf16 moves it by at most 2^-9 of itself, so every output may move by at most
    /// 2^-9 · Σ|w·x| (plus fp32 summation order, 1e-5 of it): the bound the two paths must agree within.
    /// </summary>
    [SkippableFact]
    public void NativeAndManagedBf16PrefillAgreeWithinTheBf16RoundingOfTheActivations()
    {
        Skip.IfNot(NativeKernels.Bf16Gemm && MatVecKernels.IsSupported, $"native kernels not in use: {NativeKernels.Status}");
        const int rows = 100, cols = 1000, tokens = 41;
        var random = new Random(18);
        float[] weights = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.05f).ToArray();
        float[] widened = weights.Select(v => BitConverter.Int32BitsToSingle(TestCompiledModel.ToBFloat16(v) << 16)).ToArray();
        var input = new ActivationBuffer("x", cols, tokens);
        for (int i = 0; i < input.Data.Length; i++)
        {
            input.Data[i] = (float)(random.NextDouble() * 2 - 1) * 3;
        }

        (float[] managed, long managedPanels) = Project(HdxDtype.BF16, weights, rows, cols, input, tokens, native: false);
        (float[] native, long nativePanels) = Project(HdxDtype.BF16, weights, rows, cols, input, tokens, native: true);
        Assert.Equal(0, managedPanels);
        Assert.Equal((rows + GemmKernels.PanelRows - 1) / GemmKernels.PanelRows, nativePanels); // one call per panel covers every token
        double worst = 0;
        for (int t = 0; t < tokens; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                double magnitude = 0;
                for (int k = 0; k < cols; k++)
                {
                    magnitude += Math.Abs(widened[r * cols + k] * (double)input.Data[t * cols + k]);
                }

                double difference = Math.Abs(native[t * rows + r] - (double)managed[t * rows + r]);
                Assert.True(difference <= (Math.Pow(2, -9) + 1e-5) * magnitude, $"token {t} row {r}: {native[t * rows + r]} vs {managed[t * rows + r]}");
                worst = Math.Max(worst, difference / magnitude);
            }
        }

        Assert.True(worst > 0, "the native path rounds the activations, so some output must differ");
    }

    /// <summary>
    /// Quantizing each activation to int16 on its block's scale moves it by at most half a step, max|x in block| /
    /// 65534, so every output may move by at most Σ|w| · step / 2 (plus fp32 summation order, 1e-5 of Σ|w·x|).
    /// </summary>
    [SkippableFact]
    public void NativeAndManagedQ8PrefillAgreeWithinTheInt16QuantizationOfTheActivations()
    {
        Skip.IfNot(NativeKernels.Q8Gemm && MatVecKernels.IsSupported, $"native Q8 kernel not in use: {NativeKernels.Status}");
        const int rows = 100, cols = 1000, tokens = 47;
        var random = new Random(19);
        float[] weights = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.05f).ToArray();
        var input = new ActivationBuffer("x", cols, tokens);
        for (int i = 0; i < input.Data.Length; i++)
        {
            // Blocks of very different magnitudes, as real activations have (outlier channels).
            input.Data[i] = (float)(random.NextDouble() * 2 - 1) * (i % 97 == 0 ? 40 : 2);
        }

        (float[] managed, long managedPanels) = Project(HdxDtype.Q8, weights, rows, cols, input, tokens, native: false);
        (float[] native, long nativePanels) = Project(HdxDtype.Q8, weights, rows, cols, input, tokens, native: true);
        Assert.Equal(0, managedPanels);
        Assert.Equal((rows + GemmKernels.PanelRows - 1) / GemmKernels.PanelRows, nativePanels);
        double worst = 0;
        for (int t = 0; t < tokens; t++)
        {
            var step = new double[cols];
            for (int k = 0; k < cols; k++)
            {
                int block = k / WeightTiles.Q8BlockSize * WeightTiles.Q8BlockSize;
                double max = 0;
                for (int j = block; j < Math.Min(cols, block + WeightTiles.Q8BlockSize); j++)
                {
                    max = Math.Max(max, Math.Abs(input.Data[t * cols + j]));
                }

                step[k] = max / 32767;
            }

            for (int r = 0; r < rows; r++)
            {
                double bound = 0, magnitude = 0;
                for (int k = 0; k < cols; k++)
                {
                    // A Q8 weight is within half a step of the original (1/254 of its block's largest, here <= 0.05).
                    double w = Math.Abs(weights[r * cols + k]) + 0.05 / 254;
                    bound += w * step[k] / 2;
                    magnitude += w * Math.Abs(input.Data[t * cols + k]);
                }

                double difference = Math.Abs(native[t * rows + r] - (double)managed[t * rows + r]);
                Assert.True(difference <= bound + 1e-5 * magnitude, $"token {t} row {r}: {native[t * rows + r]} vs {managed[t * rows + r]} (bound {bound})");
                worst = Math.Max(worst, difference / bound);
            }
        }

        Assert.True(worst > 0, "the native path quantizes the activations, so some output must differ");
    }

    /// <summary>
    /// The real stories260K in bf16 and int8: its fp32 greedy text fed as prompts of growing length (prefill steps)
    /// gives the fp32 model's next token with the native kernel and without it, and the last logits stay within the
    /// bounds of DtypeFidelityTests (bf16 0.25, int8 0.5) of fp32's; the errors of both paths are printed.
    /// </summary>
    [SkippableTheory]
    [InlineData(HdxDtype.BF16, 0.25)]
    [InlineData(HdxDtype.Q8, 0.5)]
    public void PrefillOfStories260KMatchesFp32WithAndWithoutTheNativeKernel(HdxDtype dtype, double bound)
    {
        string source = SharedData.Require("models/stories260K");
        int[] text = File.ReadAllText(Path.Combine(source, "expected_token_ids.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(int.Parse).Take(dtype == HdxDtype.Q8 ? 64 : 48).Prepend(1).ToArray();
        using var fp32 = HostEngine.Load(Compile(source, HdxDtype.F32));
        using var compiled = HostEngine.Load(Compile(source, dtype));
        bool nativeAvailable = dtype == HdxDtype.Q8 ? NativeKernels.Q8Gemm : NativeKernels.Bf16Gemm;
        int shortest = dtype == HdxDtype.Q8 ? ProjectionJob.BlockedMinRows : ProjectionJob.NativeBf16BlockedMinRows;
        bool wasDisabled = NativeKernels.Disabled;
        try
        {
            foreach (bool native in nativeAvailable ? new[] { false, true } : new[] { false })
            {
                NativeKernels.Disabled = !native;
                double worst = 0;
                for (int length = shortest; length < text.Length; length += 3)
                {
                    float[] expected = LastLogits(fp32, text.AsSpan(0, length));
                    float[] actual = LastLogits(compiled, text.AsSpan(0, length));
                    Assert.Equal(text[length], Array.IndexOf(actual, actual.Max()));
                    worst = Math.Max(worst, expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)));
                }

                _output.WriteLine(FormattableString.Invariant($"{dtype} prefill, native kernel {(native ? "on" : "off")}: max |logit error| vs fp32 {worst:G3}"));
                Assert.True(worst < bound, $"{dtype} prefill (native {native}) max logit error {worst}");
            }
        }
        finally
        {
            NativeKernels.Disabled = wasDisabled;
        }
    }

    private static float[] LastLogits(HostEngine engine, ReadOnlySpan<int> prompt)
    {
        using var sequence = engine.CreateSequence(prompt.Length + 1);
        var logits = new float[engine.VocabSize];
        engine.Forward(sequence, prompt, logits);
        return logits;
    }

    private string Compile(string source, HdxDtype dtype) =>
        ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = Path.Combine(_temp, dtype.ToUserName()), Dtype = dtype, MaxLength = 128 },
            NullReporter.Instance, CancellationToken.None).Path;

    /// <summary>y = x · Wᵀ over a <paramref name="dtype"/> image of <paramref name="weights"/>, with the native kernel on or off; the panels it ran.</summary>
    private static (float[] Output, long NativePanels) Project(HdxDtype dtype, float[] weights, int rows, int cols, ActivationBuffer input, int tokens, bool native)
    {
        byte[] image = TestCompiledModel.Tiled(dtype, weights, rows, cols);
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)image.Length, 64);
        bool wasDisabled = NativeKernels.Disabled;
        try
        {
            NativeKernels.Disabled = !native;
            image.CopyTo(new Span<byte>(data, image.Length));
            var output = new ActivationBuffer("y", rows, tokens);
            using var pool = new ComputePool(2, "native-kernel-test");
            var weight = new WeightTensor("w", dtype, rows, cols, data, image.Length);
            var job = new ProjectionJob([new ProjectionJob.Target(weight, output, 0, null)], pool.Workers) { Input = input, Rows = tokens };
            job.Run(pool);
            return (output.Data, job.NativePanels);
        }
        finally
        {
            NativeKernels.Disabled = wasDisabled;
            NativeMemory.AlignedFree(data);
        }
    }
}
