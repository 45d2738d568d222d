using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Decode kernels: 4 weight rows · one fp32 input row, reading each weight byte straight from the image exactly once
/// and widening it to fp32 in registers (F16 by exponent rebias, BF16 by a shift, Q8 by sign extension with the block
/// scale applied once per block to an exact int16 multiply-add over int16-quantized activations), so no row is ever
/// written back to memory. AVX-512 only; callers fall back
/// to <see cref="WeightRows"/> + <see cref="DotKernels"/> without it.
/// </summary>
internal static unsafe class MatVecKernels
{
    /// <summary>True when these kernels run on this CPU (and the portable path is not forced).</summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && !DotKernels.ForcePortable;

    /// <summary>results[r] = row (first + rows[r]) of <paramref name="w"/> · x, r &lt; 4.</summary>
    public static void Dot4(WeightTensor w, int* rows, float* x, float* results)
    {
        byte* r0 = w.Row(rows[0]), r1 = w.Row(rows[1]), r2 = w.Row(rows[2]), r3 = w.Row(rows[3]);
        switch (w.Dtype)
        {
            case HdxDtype.F32:
                Dot4F32((float*)r0, (float*)r1, (float*)r2, (float*)r3, x, w.Cols, results);
                break;
            case HdxDtype.F16:
                Dot4F16((ushort*)r0, (ushort*)r1, (ushort*)r2, (ushort*)r3, x, w.Cols, results);
                break;
            case HdxDtype.BF16:
                Dot4BF16((ushort*)r0, (ushort*)r1, (ushort*)r2, (ushort*)r3, x, w.Cols, results);
                break;
            default:
                throw new InvalidOperationException($"unsupported weight dtype {w.Dtype}");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4F32(float* w0, float* w1, float* w2, float* w3, float* x, int cols, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 16 <= cols; k += 16)
        {
            var y = Vector512.Load(x + k);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + k), y, a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + k), y, a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + k), y, a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + k), y, a3);
        }

        Finish(a0, a1, a2, a3, results);
        for (; k < cols; k++)
        {
            results[0] += w0[k] * x[k];
            results[1] += w1[k] * x[k];
            results[2] += w2[k] * x[k];
            results[3] += w3[k] * x[k];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4F16(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 16 <= cols; k += 16)
        {
            var y = Vector512.Load(x + k);
            a0 = Avx512F.FusedMultiplyAdd(Widen.Half(w0 + k), y, a0);
            a1 = Avx512F.FusedMultiplyAdd(Widen.Half(w1 + k), y, a1);
            a2 = Avx512F.FusedMultiplyAdd(Widen.Half(w2 + k), y, a2);
            a3 = Avx512F.FusedMultiplyAdd(Widen.Half(w3 + k), y, a3);
        }

        Finish(a0, a1, a2, a3, results);
        for (; k < cols; k++)
        {
            results[0] += (float)BitConverter.UInt16BitsToHalf(w0[k]) * x[k];
            results[1] += (float)BitConverter.UInt16BitsToHalf(w1[k]) * x[k];
            results[2] += (float)BitConverter.UInt16BitsToHalf(w2[k]) * x[k];
            results[3] += (float)BitConverter.UInt16BitsToHalf(w3[k]) * x[k];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4BF16(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 16 <= cols; k += 16)
        {
            var y = Vector512.Load(x + k);
            a0 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(w0 + k), y, a0);
            a1 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(w1 + k), y, a1);
            a2 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(w2 + k), y, a2);
            a3 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(w3 + k), y, a3);
        }

        Finish(a0, a1, a2, a3, results);
        for (; k < cols; k++)
        {
            results[0] += BitConverter.Int32BitsToSingle(w0[k] << 16) * x[k];
            results[1] += BitConverter.Int32BitsToSingle(w1[k] << 16) * x[k];
            results[2] += BitConverter.Int32BitsToSingle(w2[k] << 16) * x[k];
            results[3] += BitConverter.Int32BitsToSingle(w3[k] << 16) * x[k];
        }
    }

    /// <summary>
    /// The Q8 decode input: each block of 32 activations as int16 with its own scale (max |x| / 32767, round to
    /// nearest), so a block's 32 products are exact integer multiply-adds (vpmaddwd) and the rounding error is
    /// below 2^-16 of the block's largest activation: far under the int8 weights' own.
    /// </summary>
    public static void QuantizeInput(ReadOnlySpan<float> x, Span<short> quantized, Span<float> scales)
    {
        for (int b = 0; b < scales.Length; b++)
        {
            ReadOnlySpan<float> block = x.Slice(b * 32, 32);
            float max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(block));
            float inverse = max == 0 ? 0 : 32767f / max;
            scales[b] = max / 32767f;
            for (int i = 0; i < 32; i++)
            {
                quantized[b * 32 + i] = (short)Math.Clamp(MathF.Round(block[i] * inverse), -32767, 32767);
            }
        }
    }

    /// <summary>
    /// results[r] = Q8 row rows[r] · x, x given by <see cref="QuantizeInput"/>: per block, 32 int8 weights sign-extended
    /// to int16 (one vpmovsxbw), multiplied and pair-summed with the int16 activations (vpmaddwd, exact in int32),
    /// converted once and scaled by weight scale × activation scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4Q8(WeightTensor w, int* rows, short* x, float* xScales, float* results)
    {
        byte* w0 = w.Row(rows[0]), w1 = w.Row(rows[1]), w2 = w.Row(rows[2]), w3 = w.Row(rows[3]);
        int blocks = w.Cols / 32;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++)
        {
            var y = Vector512.Load(x + b * 32);
            var s = Vector512.Create(xScales[b]);
            long o = b * 36L;
            a0 = Avx512F.FusedMultiplyAdd(Q8Block(w0 + o, y), s * Vector512.Create(*(float*)(w0 + o)), a0);
            a1 = Avx512F.FusedMultiplyAdd(Q8Block(w1 + o, y), s * Vector512.Create(*(float*)(w1 + o)), a1);
            a2 = Avx512F.FusedMultiplyAdd(Q8Block(w2 + o, y), s * Vector512.Create(*(float*)(w2 + o)), a2);
            a3 = Avx512F.FusedMultiplyAdd(Q8Block(w3 + o, y), s * Vector512.Create(*(float*)(w3 + o)), a3);
        }

        Finish(a0, a1, a2, a3, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8Block(byte* block, Vector512<short> y) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256((sbyte*)block + 4)), y));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, float* results)
    {
        results[0] = Vector512.Sum(a0);
        results[1] = Vector512.Sum(a1);
        results[2] = Vector512.Sum(a2);
        results[3] = Vector512.Sum(a3);
    }
}

/// <summary>16 reduced-precision weights → one fp32 vector, in registers (AVX-512).</summary>
internal static unsafe class Widen
{
    /// <summary>
    /// fp16 → fp32, exact: exponent and mantissa moved into a float's low exponent bits and multiplied by 2^112
    /// (rebiases normals, turns subnormals right), Inf/NaN get the full exponent, then one ternary-logic op copies
    /// the sign bit in (8 vector ops per 16 values).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Half(ushort* source)
    {
        Vector512<uint> half = Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(source));
        Vector512<uint> bits = Avx512F.ShiftLeftLogical(half, 13) & Vector512.Create(0x0FFFE000u);
        Vector512<float> scaled = bits.AsSingle() * Vector512.Create(5.192297e+33f); // 2^112
        Vector512<float> magnitude = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(bits, Vector512.Create(0x0F800000u)).AsSingle(),
            (bits | Vector512.Create(0x7F800000u)).AsSingle(), scaled);
        // 0xF8 = a | (b & c): magnitude, with the sign bit of half << 16.
        return Avx512F.TernaryLogic(magnitude.AsUInt32(), Avx512F.ShiftLeftLogical(half, 16), Vector512.Create(0x80000000u), 0xF8).AsSingle();
    }

    /// <summary>bf16 → fp32 is the 16 bits placed high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BFloat16(ushort* source) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(source)), 16).AsSingle();
}
