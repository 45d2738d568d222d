using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Decode attention over one KV block (positions contiguous, head dim a multiple of 16), AVX-512. Scores take four
/// keys at a time and reduce their four dot products together (one shuffle tree instead of four horizontal sums);
/// the weighted sum of values keeps up to 64 output dims in registers with two accumulator sets (even and odd
/// positions), so consecutive FMAs do not wait on each other.
/// </summary>
internal static unsafe class AttentionKernels
{
    public static bool Supports(int headDim) => MatVecKernels.IsSupported && headDim % 16 == 0 && headDim <= 256;

    /// <summary>scores[s] = q · keys[s] · scale for s &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, float* keys, int count, int headDim, float scale, float* scores)
    {
        int slot = 0;
        for (; slot + 4 <= count; slot += 4)
        {
            float* k = keys + slot * (long)headDim;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int d = 0; d < headDim; d += 16)
            {
                var x = Vector512.Load(q + d);
                a0 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(k + d), a0);
                a1 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(k + headDim + d), a1);
                a2 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(k + (2 * headDim) + d), a2);
                a3 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(k + (3 * headDim) + d), a3);
            }

            (VectorSums.Sum4(a0, a1, a2, a3) * scale).Store(scores + slot);
        }

        for (; slot < count; slot++)
        {
            float* k = keys + slot * (long)headDim;
            Vector512<float> a = default;
            for (int d = 0; d < headDim; d += 16)
            {
                a = Avx512F.FusedMultiplyAdd(Vector512.Load(q + d), Vector512.Load(k + d), a);
            }

            scores[slot] = Vector512.Sum(a) * scale;
        }
    }

    /// <summary>output += Σ_s p[s] · values[s] for s &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate(float* p, float* values, int count, int headDim, float* output)
    {
        int d = 0;
        for (; d + 64 <= headDim; d += 64)
        {
            Accumulate64(p, values + d, count, headDim, output + d);
        }

        for (; d < headDim; d += 16)
        {
            Vector512<float> even = Vector512.Load(output + d), odd = default;
            float* v = values + d;
            int slot = 0;
            for (; slot + 2 <= count; slot += 2, v += 2 * headDim)
            {
                even = Avx512F.FusedMultiplyAdd(Vector512.Create(p[slot]), Vector512.Load(v), even);
                odd = Avx512F.FusedMultiplyAdd(Vector512.Create(p[slot + 1]), Vector512.Load(v + headDim), odd);
            }

            if (slot < count)
            {
                even = Avx512F.FusedMultiplyAdd(Vector512.Create(p[slot]), Vector512.Load(v), even);
            }

            (even + odd).Store(output + d);
        }
    }

    /// <summary>64 output dims: 4 vectors × (even, odd) accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate64(float* p, float* v, int count, int headDim, float* output)
    {
        Vector512<float> e0 = Vector512.Load(output), e1 = Vector512.Load(output + 16), e2 = Vector512.Load(output + 32), e3 = Vector512.Load(output + 48);
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default;
        int slot = 0;
        for (; slot + 2 <= count; slot += 2, v += 2 * headDim)
        {
            var w = Vector512.Create(p[slot]);
            e0 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v), e0);
            e1 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 16), e1);
            e2 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 32), e2);
            e3 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 48), e3);
            float* u = v + headDim;
            w = Vector512.Create(p[slot + 1]);
            o0 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(u), o0);
            o1 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(u + 16), o1);
            o2 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(u + 32), o2);
            o3 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(u + 48), o3);
        }

        if (slot < count)
        {
            var w = Vector512.Create(p[slot]);
            e0 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v), e0);
            e1 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 16), e1);
            e2 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 32), e2);
            e3 = Avx512F.FusedMultiplyAdd(w, Vector512.Load(v + 48), e3);
        }

        (e0 + o0).Store(output);
        (e1 + o1).Store(output + 16);
        (e2 + o2).Store(output + 32);
        (e3 + o3).Store(output + 48);
    }
}
