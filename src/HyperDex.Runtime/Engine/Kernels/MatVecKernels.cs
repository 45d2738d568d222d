using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Decode kernels: one tile of 4 weight rows (<see cref="WeightTiles"/>) · one fp32 input row. A tile is a single
/// sequential run of the image, so the hardware prefetcher streams it at full bandwidth; each weight byte is read
/// exactly once and widened to fp32 in registers (F16 by an exponent rebias, BF16 by a shift, Q8 by sign extension
/// with an exact int16 multiply-add over int16-quantized activations, its block scales applied once per block), so no
/// row is ever written back to memory. AVX-512 only; callers fall back to <see cref="WeightRows"/> +
/// <see cref="DotKernels"/> without it.
/// </summary>
internal static unsafe class MatVecKernels
{
    /// <summary>True when these kernels run on this CPU (and the portable path is not forced).</summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && !DotKernels.ForcePortable;

    /// <summary>results[r] = row (4·tile + r) · x for r &lt; 4; x holds <see cref="WeightTensor.PaddedCols"/> values (zero past Cols).</summary>
    public static void DotTile(WeightTensor w, int tile, float* x, float* results)
    {
        byte* p = w.Tile(tile);
        switch (w.Dtype)
        {
            case HdxDtype.F32:
                DotTileF32((float*)p, x, w.Groups, results);
                break;
            case HdxDtype.F16:
                DotTileF16((ushort*)p, x, w.Groups, results);
                break;
            case HdxDtype.BF16:
                DotTileBF16((ushort*)p, x, w.Groups, results);
                break;
            default:
                throw new InvalidOperationException($"unsupported weight dtype {w.Dtype}");
        }
    }

    /// <summary>A group is 4 rows × 16 fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTileF32(float* p, float* x, int groups, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < groups; g++, p += 64, x += 16)
        {
            var y = Vector512.Load(x);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(p), y, a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 16), y, a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 32), y, a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 48), y, a3);
        }

        Finish(a0, a1, a2, a3, results);
    }

    /// <summary>A group is 4 rows × 32 fp16 (finite: the compiler refuses Inf/NaN, see <see cref="Widen.FiniteHalf"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTileF16(ushort* p, float* x, int groups, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int g = 0; g < groups; g++, p += 128, x += 32)
        {
            var y0 = Vector512.Load(x);
            var y1 = Vector512.Load(x + 16);
            a0 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p), y0, a0);
            b0 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 16), y1, b0);
            a1 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 32), y0, a1);
            b1 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 48), y1, b1);
            a2 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 64), y0, a2);
            b2 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 80), y1, b2);
            a3 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 96), y0, a3);
            b3 = Avx512F.FusedMultiplyAdd(Widen.FiniteHalf(p + 112), y1, b3);
        }

        Finish(a0 + b0, a1 + b1, a2 + b2, a3 + b3, results);
    }

    /// <summary>A group is 4 rows × 32 bf16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTileBF16(ushort* p, float* x, int groups, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int g = 0; g < groups; g++, p += 128, x += 32)
        {
            var y0 = Vector512.Load(x);
            var y1 = Vector512.Load(x + 16);
            a0 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p), y0, a0);
            b0 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 16), y1, b0);
            a1 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 32), y0, a1);
            b1 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 48), y1, b1);
            a2 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 64), y0, a2);
            b2 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 80), y1, b2);
            a3 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 96), y0, a3);
            b3 = Avx512F.FusedMultiplyAdd(Widen.BFloat16(p + 112), y1, b3);
        }

        Finish(a0 + b0, a1 + b1, a2 + b2, a3 + b3, results);
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
    /// results[r] = Q8 row (4·tile + r) · x, x given by <see cref="QuantizeInput"/> over the padded width. A group is
    /// 4 rows × 128 int8 then their 16 scales [row][block]: per block, 32 int8 sign-extended to int16 (vpmovsxbw),
    /// multiplied and pair-summed with the int16 activations (vpmaddwd, exact in int32), converted once and scaled by
    /// weight scale × activation scale (the 16 products formed with one multiply per group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTileQ8(WeightTensor w, int tile, short* x, float* xScales, float* results)
    {
        byte* p = w.Tile(tile);
        float* scales = stackalloc float[16];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < w.Groups; g++, p += 576, x += 128, xScales += 4)
        {
            // [row][block] weight scales × the 4 blocks' activation scales, repeated per row.
            (Vector512.Load((float*)(p + 512)) * Avx512F.BroadcastVector128ToVector512(xScales)).Store(scales);
            for (int b = 0; b < 4; b++)
            {
                var y = Vector512.Load(x + b * 32);
                sbyte* q = (sbyte*)p + b * 32;
                a0 = Avx512F.FusedMultiplyAdd(Q8Block(q, y), Vector512.Create(scales[b]), a0);
                a1 = Avx512F.FusedMultiplyAdd(Q8Block(q + 128, y), Vector512.Create(scales[4 + b]), a1);
                a2 = Avx512F.FusedMultiplyAdd(Q8Block(q + 256, y), Vector512.Create(scales[8 + b]), a2);
                a3 = Avx512F.FusedMultiplyAdd(Q8Block(q + 384, y), Vector512.Create(scales[12 + b]), a3);
            }
        }

        Finish(a0, a1, a2, a3, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8Block(sbyte* block, Vector512<short> y) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(block)), y));

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
    /// Finite fp16 → fp32, exact, in 4 vector ops: sign-extend to 32 bits and shift left 13, so the sign lands in bit
    /// 31 and exponent + mantissa in a float's low exponent bits; clear the three sign copies between them, then
    /// multiply by 2^112 (rebiases normals and turns subnormals right). Inf/NaN would come out as large finite values,
    /// which is why the compiler refuses them in F16 images.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FiniteHalf(ushort* source)
    {
        Vector512<int> wide = Avx512F.ConvertToVector512Int32(Avx.LoadVector256((short*)source));
        Vector512<int> bits = Avx512F.ShiftLeftLogical(wide, 13) & Vector512.Create(unchecked((int)0x8FFFE000));
        return bits.AsSingle() * Vector512.Create(5.192297e+33f); // 2^112
    }

    /// <summary>bf16 → fp32 is the 16 bits placed high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BFloat16(ushort* source) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(source)), 16).AsSingle();
}
