using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Register-tiled dot products for projections: 4 weight rows against 4 (prefill) or 1 (decode) input rows at once,
/// so each loaded weight vector feeds several FMAs and the accumulators stay in registers. AVX-512F when
/// the CPU has it, else FMA on 256-bit vectors (decode), else TensorPrimitives.Dot per pair (portable).
/// </summary>
internal static unsafe class DotKernels
{
    /// <summary>Tests and the kernel benchmark set this to run the portable paths on a vector-capable CPU.</summary>
    internal static bool ForcePortable { get; set; }

    /// <summary>results[t * 4 + r] = w_r · x_t for r &lt; 4, t &lt; tokens (tokens is 1 or 4); x rows are <paramref name="xStride"/> apart.</summary>
    public static void Dot4(float** w, float* x, int xStride, int tokens, int cols, float* results)
    {
        if (Avx512F.IsSupported && !ForcePortable && cols >= 16)
        {
            if (tokens == 4)
            {
                Dot4x4Vector512(w, x, xStride, cols, results);
            }
            else
            {
                Dot4x1Vector512(w, x, cols, results);
            }

            return;
        }

        if (Fma.IsSupported && !ForcePortable && cols >= 8 && tokens == 1)
        {
            Dot4x1Vector256(w, x, cols, results);
            return;
        }

        for (int t = 0; t < tokens; t++)
        {
            var xs = new ReadOnlySpan<float>(x + t * (long)xStride, cols);
            for (int r = 0; r < 4; r++)
            {
                results[t * 4 + r] = TensorPrimitives.Dot(xs, new ReadOnlySpan<float>(w[r], cols));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x4Vector512(float** w, float* x, int xStride, int cols, float* results)
    {
        float* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        float* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        int k = 0;
        for (; k + 16 <= cols; k += 16)
        {
            var v0 = Vector512.Load(w0 + k);
            var v1 = Vector512.Load(w1 + k);
            var v2 = Vector512.Load(w2 + k);
            var v3 = Vector512.Load(w3 + k);
            var y = Vector512.Load(x0 + k);
            a00 = Avx512F.FusedMultiplyAdd(v0, y, a00); a01 = Avx512F.FusedMultiplyAdd(v1, y, a01);
            a02 = Avx512F.FusedMultiplyAdd(v2, y, a02); a03 = Avx512F.FusedMultiplyAdd(v3, y, a03);
            y = Vector512.Load(x1 + k);
            a10 = Avx512F.FusedMultiplyAdd(v0, y, a10); a11 = Avx512F.FusedMultiplyAdd(v1, y, a11);
            a12 = Avx512F.FusedMultiplyAdd(v2, y, a12); a13 = Avx512F.FusedMultiplyAdd(v3, y, a13);
            y = Vector512.Load(x2 + k);
            a20 = Avx512F.FusedMultiplyAdd(v0, y, a20); a21 = Avx512F.FusedMultiplyAdd(v1, y, a21);
            a22 = Avx512F.FusedMultiplyAdd(v2, y, a22); a23 = Avx512F.FusedMultiplyAdd(v3, y, a23);
            y = Vector512.Load(x3 + k);
            a30 = Avx512F.FusedMultiplyAdd(v0, y, a30); a31 = Avx512F.FusedMultiplyAdd(v1, y, a31);
            a32 = Avx512F.FusedMultiplyAdd(v2, y, a32); a33 = Avx512F.FusedMultiplyAdd(v3, y, a33);
        }

        results[0] = Vector512.Sum(a00); results[1] = Vector512.Sum(a01); results[2] = Vector512.Sum(a02); results[3] = Vector512.Sum(a03);
        results[4] = Vector512.Sum(a10); results[5] = Vector512.Sum(a11); results[6] = Vector512.Sum(a12); results[7] = Vector512.Sum(a13);
        results[8] = Vector512.Sum(a20); results[9] = Vector512.Sum(a21); results[10] = Vector512.Sum(a22); results[11] = Vector512.Sum(a23);
        results[12] = Vector512.Sum(a30); results[13] = Vector512.Sum(a31); results[14] = Vector512.Sum(a32); results[15] = Vector512.Sum(a33);
        for (; k < cols; k++)
        {
            for (int t = 0; t < 4; t++)
            {
                float xv = x[t * xStride + k];
                results[t * 4 + 0] += w0[k] * xv;
                results[t * 4 + 1] += w1[k] * xv;
                results[t * 4 + 2] += w2[k] * xv;
                results[t * 4 + 3] += w3[k] * xv;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x1Vector512(float** w, float* x, int cols, float* results)
    {
        float* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
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

        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (; k < cols; k++)
        {
            s0 += w0[k] * x[k];
            s1 += w1[k] * x[k];
            s2 += w2[k] * x[k];
            s3 += w3[k] * x[k];
        }

        results[0] = s0;
        results[1] = s1;
        results[2] = s2;
        results[3] = s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x1Vector256(float** w, float* x, int cols, float* results)
    {
        float* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 8 <= cols; k += 8)
        {
            var y = Vector256.Load(x + k);
            a0 = Fma.MultiplyAdd(Vector256.Load(w0 + k), y, a0);
            a1 = Fma.MultiplyAdd(Vector256.Load(w1 + k), y, a1);
            a2 = Fma.MultiplyAdd(Vector256.Load(w2 + k), y, a2);
            a3 = Fma.MultiplyAdd(Vector256.Load(w3 + k), y, a3);
        }

        float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
        for (; k < cols; k++)
        {
            s0 += w0[k] * x[k];
            s1 += w1[k] * x[k];
            s2 += w2[k] * x[k];
            s3 += w3[k] * x[k];
        }

        results[0] = s0;
        results[1] = s1;
        results[2] = s2;
        results[3] = s3;
    }
}
