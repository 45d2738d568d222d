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
/// The native AVX512-BF16 prefill kernel (src/native/hdxkernels) against the managed fp32 panels on generated bf16
/// weights at model-like widths, that it is loaded where it can be, and that the switch falls back to managed.
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
        Assert.StartsWith("AVX512-BF16 kernels from", NativeKernels.Status, StringComparison.Ordinal);
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

        (float[] managed, long managedPanels) = Project(weights, rows, cols, input, tokens, native: false);
        (float[] native, long nativePanels) = Project(weights, rows, cols, input, tokens, native: true);
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
    /// The real stories260K in bf16: its fp32 greedy text fed as prompts of growing length (prefill steps) gives the
    /// fp32 model's next token with the native kernel and without it, and the last logits stay within the bf16 bound
    /// of DtypeFidelityTests (0.25) of fp32's; the errors of both paths are printed.
    /// </summary>
    [SkippableFact]
    public void Bf16PrefillOfStories260KMatchesFp32WithAndWithoutTheNativeKernel()
    {
        string source = SharedData.Require("models/stories260K");
        int[] text = File.ReadAllText(Path.Combine(source, "expected_token_ids.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(int.Parse).Take(48).Prepend(1).ToArray();
        using var fp32 = HostEngine.Load(Compile(source, HdxDtype.F32));
        using var bf16 = HostEngine.Load(Compile(source, HdxDtype.BF16));
        bool wasDisabled = NativeKernels.Disabled;
        try
        {
            foreach (bool native in NativeKernels.Bf16Gemm ? new[] { false, true } : new[] { false })
            {
                NativeKernels.Disabled = !native;
                double worst = 0;
                for (int length = ProjectionJob.NativeBf16BlockedMinRows; length < text.Length; length += 3)
                {
                    float[] expected = LastLogits(fp32, text.AsSpan(0, length));
                    float[] actual = LastLogits(bf16, text.AsSpan(0, length));
                    Assert.Equal(text[length], Array.IndexOf(actual, actual.Max()));
                    worst = Math.Max(worst, expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)));
                }

                _output.WriteLine(FormattableString.Invariant($"bf16 prefill, native kernel {(native ? "on" : "off")}: max |logit error| vs fp32 {worst:G3}"));
                Assert.True(worst < 0.25, $"bf16 prefill (native {native}) max logit error {worst}");
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

    /// <summary>y = x · Wᵀ over a bf16 image of <paramref name="weights"/>, with the native kernel on or off; the panels it ran.</summary>
    private static (float[] Output, long NativePanels) Project(float[] weights, int rows, int cols, ActivationBuffer input, int tokens, bool native)
    {
        byte[] image = TestCompiledModel.Tiled(HdxDtype.BF16, weights, rows, cols);
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)image.Length, 64);
        bool wasDisabled = NativeKernels.Disabled;
        try
        {
            NativeKernels.Disabled = !native;
            image.CopyTo(new Span<byte>(data, image.Length));
            var output = new ActivationBuffer("y", rows, tokens);
            using var pool = new ComputePool(2, "native-kernel-test");
            var weight = new WeightTensor("w", HdxDtype.BF16, rows, cols, data, image.Length);
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
