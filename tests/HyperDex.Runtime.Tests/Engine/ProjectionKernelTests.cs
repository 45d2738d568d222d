using System.Runtime.InteropServices;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Engine.Kernels;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>Flips <see cref="DotKernels.ForcePortable"/> and <see cref="NativeKernels.Disabled"/>, so it runs alone.</summary>
[CollectionDefinition(nameof(ProjectionKernelTests), DisableParallelization = true)]
public sealed class ProjectionKernelCollection
{
}

/// <summary>
/// Every projection kernel (decode streaming, prefill panels, the portable fallback) against a double-precision
/// reference over the widened weights, at odd sizes: rows that leave partial 4-row groups and 32-row panels, input
/// widths that leave vector tails and partial weight-tile groups, token counts that leave partial 6-token tiles, two
/// targets sharing one split, with and without bias. bf16 and Q8 prefill run both the managed panels and, where the
/// native library works on this CPU, its AVX512-BF16 and AVX512-VNNI kernels (whose references round the activations
/// to bf16, or to int16 per block of 32, as they do).
/// </summary>
[Collection(nameof(ProjectionKernelTests))]
public sealed unsafe class ProjectionKernelTests
{
    public static TheoryData<HdxDtype, int, int, int, bool, bool> Cases()
    {
        var data = new TheoryData<HdxDtype, int, int, int, bool, bool>();
        foreach (bool portable in new[] { false, true })
        {
            foreach (var dtype in new[] { HdxDtype.F32, HdxDtype.F16, HdxDtype.BF16, HdxDtype.Q8 })
            {
                foreach (bool native in dtype is HdxDtype.BF16 or HdxDtype.Q8 && !portable ? new[] { false, true } : new[] { false })
                {
                    int cols = dtype == HdxDtype.Q8 ? 96 : 37;
                    foreach (int tokens in new[] { 1, 3, 6, 13, 16, 29, 41 })
                    {
                        data.Add(dtype, 71, cols, tokens, portable, native);
                    }

                    data.Add(dtype, 64, dtype == HdxDtype.Q8 ? 256 : 80, 12, portable, native);
                }
            }
        }

        return data;
    }

    /// <summary>
    /// A batched decode step streams its rows in pairs (each weight widened once for two rows): every row's output
    /// must be bit-identical to the same row projected alone, so a sequence's tokens do not depend on its batch.
    /// </summary>
    /// <summary>
    /// Streaming projections share their prepared input rows (DecodeInput.Rent): a narrower projection after a wider
    /// one must not see the wider one's values in its padding columns (an infinity there times a zero padding weight
    /// would be NaN).
    /// </summary>
    [SkippableTheory]
    [InlineData(HdxDtype.F32)]
    [InlineData(HdxDtype.BF16)]
    public void ANarrowProjectionIgnoresAWiderOnesInput(HdxDtype dtype)
    {
        Skip.IfNot(MatVecKernels.IsSupported, "the streaming decode kernels need AVX-512");
        const int rows = 8, tokens = 3, wideCols = 300, narrowCols = 37;
        byte[] wideImage = TestCompiledModel.Tiled(dtype, new float[rows * wideCols], rows, wideCols);
        byte[] narrowImage = TestCompiledModel.Tiled(dtype, Enumerable.Repeat(0.5f, rows * narrowCols).ToArray(), rows, narrowCols);
        var wideInput = new ActivationBuffer("x", wideCols, tokens);
        wideInput.Data.AsSpan().Fill(float.PositiveInfinity);
        var narrowInput = new ActivationBuffer("x", narrowCols, tokens);
        narrowInput.Data.AsSpan().Fill(1f);
        var output = new ActivationBuffer("y", rows, tokens);
        byte* wide = (byte*)NativeMemory.AlignedAlloc((nuint)wideImage.Length, 64);
        byte* narrow = (byte*)NativeMemory.AlignedAlloc((nuint)narrowImage.Length, 64);
        try
        {
            wideImage.CopyTo(new Span<byte>(wide, wideImage.Length));
            narrowImage.CopyTo(new Span<byte>(narrow, narrowImage.Length));
            using var pool = new ComputePool(2, "kernel-test");
            var wideWeight = new WeightTensor("wide", dtype, rows, wideCols, wide, wideImage.Length);
            var narrowWeight = new WeightTensor("narrow", dtype, rows, narrowCols, narrow, narrowImage.Length);
            new ProjectionJob([new ProjectionJob.Target(wideWeight, output, 0, null)], pool.Workers) { Input = wideInput, Rows = tokens }.Run(pool);
            new ProjectionJob([new ProjectionJob.Target(narrowWeight, output, 0, null)], pool.Workers) { Input = narrowInput, Rows = tokens }.Run(pool);
            Assert.All(output.Data[..(rows * tokens)], value => Assert.Equal(0.5f * narrowCols, value));
        }
        finally
        {
            NativeMemory.AlignedFree(wide);
            NativeMemory.AlignedFree(narrow);
        }
    }

    [SkippableTheory]
    [InlineData(HdxDtype.F32)]
    [InlineData(HdxDtype.F16)]
    [InlineData(HdxDtype.BF16)]
    [InlineData(HdxDtype.Q8)]
    public void StreamedRowsInABatchEqualTheRowsAlone(HdxDtype dtype)
    {
        Skip.IfNot(MatVecKernels.IsSupported, "the streaming decode kernels need AVX-512");
        const int rows = 44, tokens = 7;
        int cols = dtype == HdxDtype.Q8 ? 160 : 90;
        var random = new Random(17);
        float[] values = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        byte[] image = TestCompiledModel.Tiled(dtype, values, rows, cols);
        var input = new ActivationBuffer("x", cols, tokens);
        for (int i = 0; i < input.Data.Length; i++)
        {
            input.Data[i] = (float)(random.NextDouble() * 2 - 1);
        }

        var batched = new ActivationBuffer("y", rows, tokens);
        var alone = new ActivationBuffer("y1", rows, 1);
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)image.Length, 64);
        try
        {
            image.CopyTo(new Span<byte>(data, image.Length));
            var weight = new WeightTensor("w", dtype, rows, cols, data, image.Length);
            using var pool = new ComputePool(2, "kernel-test");
            new ProjectionJob([new ProjectionJob.Target(weight, batched, 0, null)], pool.Workers) { Input = input, Rows = tokens }.Run(pool);
            var single = new ProjectionJob([new ProjectionJob.Target(weight, alone, 0, null)], pool.Workers) { Input = input, Rows = 1 };
            for (int t = 0; t < tokens; t++)
            {
                single.FirstInputRow = t;
                single.Run(pool);
                Assert.Equal(alone.Row(0)[..rows].ToArray(), batched.Row(t)[..rows].ToArray());
            }
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ProjectionMatchesTheReference(HdxDtype dtype, int rows, int cols, int tokens, bool portable, bool native)
    {
        var random = new Random(rows * 31 + cols * 7 + tokens);
        float[] values = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] bias = Enumerable.Range(0, rows).Select(_ => (float)random.NextDouble()).ToArray();
        // With 71 rows the matrix is cut into two targets of 5 and 66 rows (neither whole tiles) that share the split,
        // as q/k/v do, each tiled on its own.
        int first = rows == 71 ? 5 : rows;
        byte[] firstImage = TestCompiledModel.Tiled(dtype, values[..(first * cols)], first, cols);
        byte[] image = firstImage.Concat(TestCompiledModel.Tiled(dtype, values[(first * cols)..], rows - first, cols)).ToArray();
        float[] widened = dtype switch
        {
            HdxDtype.F32 => values,
            HdxDtype.F16 => values.Select(v => (float)(Half)v).ToArray(),
            HdxDtype.BF16 => values.Select(v => BitConverter.Int32BitsToSingle(TestCompiledModel.ToBFloat16(v) << 16)).ToArray(),
            _ => TestCompiledModel.FromQ8(values),
        };

        // The input sits at an offset row inside a wider buffer, and the output at a column offset, as in the engine.
        const int firstInputRow = 1;
        const int outputOffset = 5;
        var input = new ActivationBuffer("x", cols + 3, tokens + firstInputRow);
        for (int i = 0; i < input.Data.Length; i++)
        {
            input.Data[i] = (float)(random.NextDouble() * 2 - 1);
        }

        var output = new ActivationBuffer("y", rows + outputOffset + 2, tokens);
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)image.Length, 64);
        bool wasPortable = DotKernels.ForcePortable;
        bool wasDisabled = NativeKernels.Disabled;
        long nativePanels = 0;
        try
        {
            DotKernels.ForcePortable = portable;
            NativeKernels.Disabled = !native;
            using var pool = new ComputePool(2, "kernel-test");
            fixed (float* biasPointer = bias)
            {
                var targets = new List<ProjectionJob.Target>();
                image.CopyTo(new Span<byte>(data, image.Length));
                targets.Add(new ProjectionJob.Target(new WeightTensor("w0", dtype, first, cols, data, firstImage.Length), output, outputOffset, biasPointer));
                if (first < rows)
                {
                    targets.Add(new ProjectionJob.Target(new WeightTensor("w1", dtype, rows - first, cols, data + firstImage.Length, image.Length - firstImage.Length),
                        output, outputOffset + first, biasPointer + first));
                }

                var job = new ProjectionJob(targets, pool.Workers)
                {
                    Input = input,
                    FirstInputRow = firstInputRow,
                    Rows = tokens,
                };
                job.Run(pool);
                nativePanels = job.NativePanels;
            }
        }
        finally
        {
            DotKernels.ForcePortable = wasPortable;
            NativeKernels.Disabled = wasDisabled;
            NativeMemory.AlignedFree(data);
        }

        // The Q8 decode kernel multiplies int16 activations: the reference uses the same rounded activations.
        // So does the native Q8 prefill kernel.
        bool nativeQ8 = dtype == HdxDtype.Q8 && native && NativeKernels.Q8Gemm && tokens >= ProjectionJob.BlockedMinRows && MatVecKernels.IsSupported;
        bool int16Activations = nativeQ8 || (dtype == HdxDtype.Q8 && !portable && tokens < ProjectionJob.BlockedMinRows && MatVecKernels.IsSupported);
        // The native bf16 kernel multiplies bf16 activations: where it ran, the reference rounds them the same way.
        bool bf16Activations = dtype == HdxDtype.BF16 && native && NativeKernels.Bf16Gemm && tokens >= ProjectionJob.NativeBf16BlockedMinRows
            && MatVecKernels.IsSupported;
        Assert.Equal(bf16Activations || nativeQ8, nativePanels > 0);
        for (int t = 0; t < tokens; t++)
        {
            double[] x = input.Row(firstInputRow + t)[..cols].ToArray().Select(v => (double)v).ToArray();
            if (int16Activations)
            {
                x = RoundToInt16Blocks(x);
            }
            else if (bf16Activations)
            {
                x = x.Select(v => (double)BitConverter.Int32BitsToSingle(TestCompiledModel.ToBFloat16((float)v) << 16)).ToArray();
            }

            for (int r = 0; r < rows; r++)
            {
                double expected = bias[r];
                for (int k = 0; k < cols; k++)
                {
                    expected += widened[r * cols + k] * x[k];
                }

                float actual = output.Row(t)[outputOffset + r];
                Assert.True(Math.Abs(actual - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"token {t} row {r}: {actual} instead of {expected}");
            }
        }
    }

    /// <summary>Each block of 32 as round(x / s) · s with s = max |x| / 32767.</summary>
    private static double[] RoundToInt16Blocks(double[] x)
    {
        var rounded = new double[x.Length];
        for (int b = 0; b < x.Length; b += 32)
        {
            float max = 0;
            for (int i = b; i < b + 32; i++)
            {
                max = Math.Max(max, Math.Abs((float)x[i]));
            }

            float scale = max / 32767f;
            for (int i = b; i < b + 32; i++)
            {
                rounded[i] = max == 0 ? 0 : Math.Round((float)x[i] * (32767f / max)) * (double)scale;
            }
        }

        return rounded;
    }
}
