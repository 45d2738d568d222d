using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>Horizontal sums of several AVX-512 accumulators at once: one shuffle tree instead of one per vector.</summary>
internal static class VectorSums
{
    /// <summary>[Σ a0, Σ a1, Σ a2, Σ a3]: pairs interleaved, then 128-bit lanes folded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        // Per 128-bit lane: [a0 a1 a0 a1] partial sums, then [a0 a1 a2 a3].
        var t01 = Avx512F.UnpackLow(a0, a1) + Avx512F.UnpackHigh(a0, a1);
        var t23 = Avx512F.UnpackLow(a2, a3) + Avx512F.UnpackHigh(a2, a3);
        var lanes = Avx512F.Shuffle(t01, t23, 0b01_00_01_00) + Avx512F.Shuffle(t01, t23, 0b11_10_11_10);
        var half = lanes.GetLower() + lanes.GetUpper();
        return half.GetLower() + half.GetUpper();
    }
}
