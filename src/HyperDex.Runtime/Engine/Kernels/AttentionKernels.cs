using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Decode attention over one KV block (positions contiguous, head dim a multiple of 16), AVX-512: the query stays
/// in registers across the block's keys, and the output accumulates in registers across the block's values, instead
/// of one library call per position.
/// </summary>
internal static unsafe class AttentionKernels
{
    public static bool Supports(int headDim) => MatVecKernels.IsSupported && headDim % 16 == 0 && headDim <= 256;

    /// <summary>scores[s] = q · keys[s] · scale for s &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* q, float* keys, int count, int headDim, float scale, float* scores)
    {
        for (int slot = 0; slot < count; slot++)
        {
            float* k = keys + slot * (long)headDim;
            Vector512<float> a0 = default, a1 = default;
            int d = 0;
            for (; d + 32 <= headDim; d += 32)
            {
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + d), Vector512.Load(k + d), a0);
                a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + d + 16), Vector512.Load(k + d + 16), a1);
            }

            if (d < headDim)
            {
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(q + d), Vector512.Load(k + d), a0);
            }

            scores[slot] = Vector512.Sum(a0 + a1) * scale;
        }
    }

    /// <summary>output += Σ_s p[s] · values[s] for s &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate(float* p, float* values, int count, int headDim, float* output)
    {
        for (int d = 0; d < headDim; d += 16)
        {
            Vector512<float> o = Vector512.Load(output + d);
            float* v = values + d;
            for (int slot = 0; slot < count; slot++, v += headDim)
            {
                o = Avx512F.FusedMultiplyAdd(Vector512.Create(p[slot]), Vector512.Load(v), o);
            }

            o.Store(output + d);
        }
    }
}
