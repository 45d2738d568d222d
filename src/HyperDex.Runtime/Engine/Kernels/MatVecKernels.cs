using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Decode kernels: one tile of 4 weight rows (<see cref="WeightTiles"/>) · one fp32 input row. A tile is a single
/// sequential run of the image, so the hardware prefetcher streams it at full bandwidth; each weight byte is read
/// exactly once and widened to fp32 in registers (F16 by an exponent rebias, BF16 by a shift, Q8 by sign extension
/// with an exact int16 multiply-add over int16-quantized activations (<see cref="DecodeInput"/>), its block scales applied once per block), so no
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

    /// <summary>
    /// <see cref="DotTile"/> for two input rows at once (batched decode, short prefill): each weight is loaded and
    /// widened once for both. Each row's sums are formed exactly as <see cref="DotTile"/> forms them, so the results
    /// are bit-identical to two single-row calls.
    /// </summary>
    public static void DotTile2(WeightTensor w, int tile, float* x0, float* x1, float* results0, float* results1)
    {
        byte* p = w.Tile(tile);
        switch (w.Dtype)
        {
            case HdxDtype.F32:
                DotTileF32((float*)p, x0, w.Groups, results0);
                DotTileF32((float*)p, x1, w.Groups, results1);
                break;
            case HdxDtype.F16:
                DotTile2F16((ushort*)p, x0, x1, w.Groups, results0, results1);
                break;
            case HdxDtype.BF16:
                DotTile2BF16((ushort*)p, x0, x1, w.Groups, results0, results1);
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

    /// <summary>
    /// A group is 4 rows × 32 fp16, read as 16 pairs per row (<see cref="Widen.HalfPairs"/>: the weights × 2^-112);
    /// the input carries 2^56 (<see cref="DecodeInput.HalfInputScale"/>) and the sum the other 2^56, so no multiply
    /// is spent per weight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTileF16(ushort* p, float* x, int groups, float* results)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int g = 0; g < groups; g++, p += 128, x += 32)
        {
            var even = Vector512.Load(x);
            var odd = Vector512.Load(x + 16);
            Widen.HalfPairs(Vector512.Load((int*)p), out var e, out var o);
            a0 = Avx512F.FusedMultiplyAdd(e, even, a0);
            b0 = Avx512F.FusedMultiplyAdd(o, odd, b0);
            Widen.HalfPairs(Vector512.Load((int*)(p + 32)), out e, out o);
            a1 = Avx512F.FusedMultiplyAdd(e, even, a1);
            b1 = Avx512F.FusedMultiplyAdd(o, odd, b1);
            Widen.HalfPairs(Vector512.Load((int*)(p + 64)), out e, out o);
            a2 = Avx512F.FusedMultiplyAdd(e, even, a2);
            b2 = Avx512F.FusedMultiplyAdd(o, odd, b2);
            Widen.HalfPairs(Vector512.Load((int*)(p + 96)), out e, out o);
            a3 = Avx512F.FusedMultiplyAdd(e, even, a3);
            b3 = Avx512F.FusedMultiplyAdd(o, odd, b3);
        }

        const float rebias = 7.2057594e16f; // 2^56
        Finish((a0 + b0) * rebias, (a1 + b1) * rebias, (a2 + b2) * rebias, (a3 + b3) * rebias, results);
    }

    /// <summary>A group is 4 rows × 32 bf16, read as 16 pairs per row: the even column's bits shifted up, the odd one's masked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTileBF16(ushort* p, float* x, int groups, float* results)
    {
        var high = Vector512.Create(unchecked((int)0xFFFF0000));
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int g = 0; g < groups; g++, p += 128, x += 32)
        {
            var even = Vector512.Load(x);
            var odd = Vector512.Load(x + 16);
            var v = Vector512.Load((int*)p);
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v, 16).AsSingle(), even, a0);
            b0 = Avx512F.FusedMultiplyAdd((v & high).AsSingle(), odd, b0);
            v = Vector512.Load((int*)(p + 32));
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v, 16).AsSingle(), even, a1);
            b1 = Avx512F.FusedMultiplyAdd((v & high).AsSingle(), odd, b1);
            v = Vector512.Load((int*)(p + 64));
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v, 16).AsSingle(), even, a2);
            b2 = Avx512F.FusedMultiplyAdd((v & high).AsSingle(), odd, b2);
            v = Vector512.Load((int*)(p + 96));
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v, 16).AsSingle(), even, a3);
            b3 = Avx512F.FusedMultiplyAdd((v & high).AsSingle(), odd, b3);
        }

        Finish(a0 + b0, a1 + b1, a2 + b2, a3 + b3, results);
    }

    /// <summary><see cref="DotTileF16"/> over two input rows; the widened pairs are shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile2F16(ushort* p, float* x0, float* x1, int groups, float* results0, float* results1)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        for (int g = 0; g < groups; g++, p += 128, x0 += 32, x1 += 32)
        {
            var even0 = Vector512.Load(x0);
            var odd0 = Vector512.Load(x0 + 16);
            var even1 = Vector512.Load(x1);
            var odd1 = Vector512.Load(x1 + 16);
            Widen.HalfPairs(Vector512.Load((int*)p), out var e, out var o);
            a0 = Avx512F.FusedMultiplyAdd(e, even0, a0);
            b0 = Avx512F.FusedMultiplyAdd(o, odd0, b0);
            c0 = Avx512F.FusedMultiplyAdd(e, even1, c0);
            d0 = Avx512F.FusedMultiplyAdd(o, odd1, d0);
            Widen.HalfPairs(Vector512.Load((int*)(p + 32)), out e, out o);
            a1 = Avx512F.FusedMultiplyAdd(e, even0, a1);
            b1 = Avx512F.FusedMultiplyAdd(o, odd0, b1);
            c1 = Avx512F.FusedMultiplyAdd(e, even1, c1);
            d1 = Avx512F.FusedMultiplyAdd(o, odd1, d1);
            Widen.HalfPairs(Vector512.Load((int*)(p + 64)), out e, out o);
            a2 = Avx512F.FusedMultiplyAdd(e, even0, a2);
            b2 = Avx512F.FusedMultiplyAdd(o, odd0, b2);
            c2 = Avx512F.FusedMultiplyAdd(e, even1, c2);
            d2 = Avx512F.FusedMultiplyAdd(o, odd1, d2);
            Widen.HalfPairs(Vector512.Load((int*)(p + 96)), out e, out o);
            a3 = Avx512F.FusedMultiplyAdd(e, even0, a3);
            b3 = Avx512F.FusedMultiplyAdd(o, odd0, b3);
            c3 = Avx512F.FusedMultiplyAdd(e, even1, c3);
            d3 = Avx512F.FusedMultiplyAdd(o, odd1, d3);
        }

        const float rebias = 7.2057594e16f; // 2^56
        Finish((a0 + b0) * rebias, (a1 + b1) * rebias, (a2 + b2) * rebias, (a3 + b3) * rebias, results0);
        Finish((c0 + d0) * rebias, (c1 + d1) * rebias, (c2 + d2) * rebias, (c3 + d3) * rebias, results1);
    }

    /// <summary><see cref="DotTileBF16"/> over two input rows; the widened pairs are shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile2BF16(ushort* p, float* x0, float* x1, int groups, float* results0, float* results1)
    {
        var high = Vector512.Create(unchecked((int)0xFFFF0000));
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        for (int g = 0; g < groups; g++, p += 128, x0 += 32, x1 += 32)
        {
            var even0 = Vector512.Load(x0);
            var odd0 = Vector512.Load(x0 + 16);
            var even1 = Vector512.Load(x1);
            var odd1 = Vector512.Load(x1 + 16);
            var v = Vector512.Load((int*)p);
            var e = Avx512F.ShiftLeftLogical(v, 16).AsSingle();
            var o = (v & high).AsSingle();
            a0 = Avx512F.FusedMultiplyAdd(e, even0, a0);
            b0 = Avx512F.FusedMultiplyAdd(o, odd0, b0);
            c0 = Avx512F.FusedMultiplyAdd(e, even1, c0);
            d0 = Avx512F.FusedMultiplyAdd(o, odd1, d0);
            v = Vector512.Load((int*)(p + 32));
            e = Avx512F.ShiftLeftLogical(v, 16).AsSingle();
            o = (v & high).AsSingle();
            a1 = Avx512F.FusedMultiplyAdd(e, even0, a1);
            b1 = Avx512F.FusedMultiplyAdd(o, odd0, b1);
            c1 = Avx512F.FusedMultiplyAdd(e, even1, c1);
            d1 = Avx512F.FusedMultiplyAdd(o, odd1, d1);
            v = Vector512.Load((int*)(p + 64));
            e = Avx512F.ShiftLeftLogical(v, 16).AsSingle();
            o = (v & high).AsSingle();
            a2 = Avx512F.FusedMultiplyAdd(e, even0, a2);
            b2 = Avx512F.FusedMultiplyAdd(o, odd0, b2);
            c2 = Avx512F.FusedMultiplyAdd(e, even1, c2);
            d2 = Avx512F.FusedMultiplyAdd(o, odd1, d2);
            v = Vector512.Load((int*)(p + 96));
            e = Avx512F.ShiftLeftLogical(v, 16).AsSingle();
            o = (v & high).AsSingle();
            a3 = Avx512F.FusedMultiplyAdd(e, even0, a3);
            b3 = Avx512F.FusedMultiplyAdd(o, odd0, b3);
            c3 = Avx512F.FusedMultiplyAdd(e, even1, c3);
            d3 = Avx512F.FusedMultiplyAdd(o, odd1, d3);
        }

        Finish(a0 + b0, a1 + b1, a2 + b2, a3 + b3, results0);
        Finish(c0 + d0, c1 + d1, c2 + d2, c3 + d3, results1);
    }

    /// <summary>
    /// results[r] = Q8 row (4·tile + r) · x, x given by <see cref="DecodeInput"/> (int16 per block of 32, even then odd
    /// columns per 64). A group is 4 rows × 128 int8 then their 16 scales [row][block]. Each 64-byte load of a row is
    /// 32 int16 pairs: the even bytes sign-extended by a shift pair, the odd ones by one arithmetic shift, each
    /// multiplied and pair-summed with the matching activations (vpmaddwd, exact in int32); int32 lanes 0-7 then hold
    /// the first block's sums and 8-15 the second's, converted once and scaled by weight scale × activation scale
    /// (the group's 16 products formed with one multiply, spread to the two blocks' lanes by a permute).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTileQ8(WeightTensor w, int tile, short* x, float* xScales, float* results)
    {
        byte* p = w.Tile(tile);
        // Lanes 0-7 take scale [row][2h], lanes 8-15 [row][2h + 1], for row r and half h of a group.
        Vector512<int> r0h0 = ScaleLanes(0), r0h1 = ScaleLanes(2), r1h0 = ScaleLanes(4), r1h1 = ScaleLanes(6);
        Vector512<int> r2h0 = ScaleLanes(8), r2h1 = ScaleLanes(10), r3h0 = ScaleLanes(12), r3h1 = ScaleLanes(14);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < w.Groups; g++, p += 576, x += 128, xScales += 4)
        {
            // [row][block] weight scales × the 4 blocks' activation scales, repeated per row.
            var scales = Vector512.Load((float*)(p + 512)) * Avx512F.BroadcastVector128ToVector512(xScales);
            var even = Vector512.Load(x);
            var odd = Vector512.Load(x + 32);
            a0 = Avx512F.FusedMultiplyAdd(Q8Pairs(p, even, odd), Avx512F.PermuteVar16x32(scales, r0h0), a0);
            a1 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 128, even, odd), Avx512F.PermuteVar16x32(scales, r1h0), a1);
            a2 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 256, even, odd), Avx512F.PermuteVar16x32(scales, r2h0), a2);
            a3 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 384, even, odd), Avx512F.PermuteVar16x32(scales, r3h0), a3);
            even = Vector512.Load(x + 64);
            odd = Vector512.Load(x + 96);
            a0 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 64, even, odd), Avx512F.PermuteVar16x32(scales, r0h1), a0);
            a1 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 192, even, odd), Avx512F.PermuteVar16x32(scales, r1h1), a1);
            a2 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 320, even, odd), Avx512F.PermuteVar16x32(scales, r2h1), a2);
            a3 = Avx512F.FusedMultiplyAdd(Q8Pairs(p + 448, even, odd), Avx512F.PermuteVar16x32(scales, r3h1), a3);
        }

        Finish(a0, a1, a2, a3, results);
    }

    /// <summary><see cref="DotTileQ8"/> over two input rows; the sign-extended weights are shared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTile2Q8(WeightTensor w, int tile, short* x0, float* xScales0, short* x1, float* xScales1, float* results0, float* results1)
    {
        byte* p = w.Tile(tile);
        Vector512<int> r0h0 = ScaleLanes(0), r0h1 = ScaleLanes(2), r1h0 = ScaleLanes(4), r1h1 = ScaleLanes(6);
        Vector512<int> r2h0 = ScaleLanes(8), r2h1 = ScaleLanes(10), r3h0 = ScaleLanes(12), r3h1 = ScaleLanes(14);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int g = 0; g < w.Groups; g++, p += 576, x0 += 128, x1 += 128, xScales0 += 4, xScales1 += 4)
        {
            var weightScales = Vector512.Load((float*)(p + 512));
            var scales0 = weightScales * Avx512F.BroadcastVector128ToVector512(xScales0);
            var scales1 = weightScales * Avx512F.BroadcastVector128ToVector512(xScales1);
            var even0 = Vector512.Load(x0);
            var odd0 = Vector512.Load(x0 + 32);
            var even1 = Vector512.Load(x1);
            var odd1 = Vector512.Load(x1 + 32);
            Q8Pairs2(p, even0, odd0, even1, odd1, out var s0, out var s1);
            a0 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r0h0), a0);
            c0 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r0h0), c0);
            Q8Pairs2(p + 128, even0, odd0, even1, odd1, out s0, out s1);
            a1 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r1h0), a1);
            c1 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r1h0), c1);
            Q8Pairs2(p + 256, even0, odd0, even1, odd1, out s0, out s1);
            a2 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r2h0), a2);
            c2 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r2h0), c2);
            Q8Pairs2(p + 384, even0, odd0, even1, odd1, out s0, out s1);
            a3 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r3h0), a3);
            c3 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r3h0), c3);
            even0 = Vector512.Load(x0 + 64);
            odd0 = Vector512.Load(x0 + 96);
            even1 = Vector512.Load(x1 + 64);
            odd1 = Vector512.Load(x1 + 96);
            Q8Pairs2(p + 64, even0, odd0, even1, odd1, out s0, out s1);
            a0 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r0h1), a0);
            c0 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r0h1), c0);
            Q8Pairs2(p + 192, even0, odd0, even1, odd1, out s0, out s1);
            a1 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r1h1), a1);
            c1 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r1h1), c1);
            Q8Pairs2(p + 320, even0, odd0, even1, odd1, out s0, out s1);
            a2 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r2h1), a2);
            c2 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r2h1), c2);
            Q8Pairs2(p + 448, even0, odd0, even1, odd1, out s0, out s1);
            a3 = Avx512F.FusedMultiplyAdd(s0, Avx512F.PermuteVar16x32(scales0, r3h1), a3);
            c3 = Avx512F.FusedMultiplyAdd(s1, Avx512F.PermuteVar16x32(scales1, r3h1), c3);
        }

        Finish(a0, a1, a2, a3, results0);
        Finish(c0, c1, c2, c3, results1);
    }

    /// <summary><see cref="Q8Pairs"/> for two activation rows over the same 64 weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Pairs2(byte* weights, Vector512<short> even0, Vector512<short> odd0, Vector512<short> even1, Vector512<short> odd1,
        out Vector512<float> sums0, out Vector512<float> sums1)
    {
        Q8Weights(weights, out var evenWeights, out var oddWeights);
        sums0 = Q8Sums(evenWeights, oddWeights, even0, odd0);
        sums1 = Q8Sums(evenWeights, oddWeights, even1, odd1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> ScaleLanes(int first) => Vector512.Create(Vector256.Create(first), Vector256.Create(first + 1));

    /// <summary>64 int8 weights · their activations as 16 int32 sums (4 products each), as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8Pairs(byte* weights, Vector512<short> even, Vector512<short> odd)
    {
        Q8Weights(weights, out var evenWeights, out var oddWeights);
        return Q8Sums(evenWeights, oddWeights, even, odd);
    }

    /// <summary>64 int8 weights sign-extended to int16: the even bytes by a shift pair, the odd ones by one arithmetic shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Weights(byte* weights, out Vector512<short> evenWeights, out Vector512<short> oddWeights)
    {
        var v = Vector512.Load((short*)weights);
        evenWeights = Avx512BW.ShiftRightArithmetic(Avx512BW.ShiftLeftLogical(v, 8), 8);
        oddWeights = Avx512BW.ShiftRightArithmetic(v, 8);
    }

    /// <summary>The sign-extended weights · their activations as 16 int32 sums (4 products each), as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8Sums(Vector512<short> evenWeights, Vector512<short> oddWeights, Vector512<short> even, Vector512<short> odd) =>
        Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(evenWeights, even) + Avx512BW.MultiplyAddAdjacent(oddWeights, odd));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, float* results) =>
        VectorSums.Sum4(a0, a1, a2, a3).Store(results);
}

/// <summary>Reduced-precision weights → fp32 vectors, in registers (AVX-512).</summary>
internal static class Widen
{
    /// <summary>
    /// 16 pairs of finite fp16 (low half: even column, high half: odd) → their values × 2^-112, exact, subnormals
    /// included: the even half is shifted up 16, then each is arithmetic-shifted right by 3, so the sign fills bits
    /// 31..28 and exponent + mantissa land in a float's low exponent bits, and a mask clears the sign copies. Inf and
    /// NaN would come out finite, which is why the compiler refuses them in F16 images.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfPairs(Vector512<int> pairs, out Vector512<float> even, out Vector512<float> odd)
    {
        var mask = Vector512.Create(unchecked((int)0x8FFFE000));
        even = (Avx512F.ShiftRightArithmetic(Avx512F.ShiftLeftLogical(pairs, 16), 3) & mask).AsSingle();
        odd = (Avx512F.ShiftRightArithmetic(pairs, 3) & mask).AsSingle();
    }
}
