using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Prefill (matrix-matrix) kernels, AVX-512: a tile of <see cref="PanelRows"/> weight rows is widened once into a
/// packed panel [k][32] (k-major, so one k step is two aligned vectors), then a 6 × 32 register tile of outputs
/// is accumulated over the whole input width as outer products — two panel loads and six broadcasts feed twelve
/// FMAs, accumulators never leave registers, and no horizontal sums are needed.
/// </summary>
internal static unsafe class GemmKernels
{
    public const int PanelRows = 32;
    public const int TileTokens = 6;

    [ThreadStatic]
    private static float[]? t_panel;

    [ThreadStatic]
    private static float[]? t_group;

    /// <summary>The calling thread's panel buffer of at least <paramref name="cols"/> × 32 floats (grows, never shrinks).</summary>
    public static float[] Panel(int cols)
    {
        if (t_panel is null || t_panel.Length < cols * PanelRows + 16)
        {
            t_panel = GC.AllocateUninitializedArray<float>(cols * PanelRows + 16, pinned: true);
        }

        return t_panel;
    }

    /// <summary>
    /// Packs rows [row, row + count) of <paramref name="weight"/> (count ≤ 32; missing rows are zero) into
    /// panel[k * 32 + r] for k below its padded width, one tile group at a time so the widened rows stay in L1: each
    /// group's rows are widened side by side ([32][columns]) and transposed into the panel in 8 × 8 register blocks.
    /// The transpose was a scalar loop, a fixed cost per step that dominated steps of a few dozen rows.
    /// </summary>
    public static void Pack(WeightTensor weight, int row, int count, float* panel)
    {
        int columns = WeightTiles.GroupColumns(weight.Dtype);
        t_group ??= new float[PanelRows * WeightTiles.GroupColumns(HdxDtype.Q8)];
        fixed (float* chunk = t_group)
        {
            new Span<float>(chunk + count * columns, (PanelRows - count) * columns).Clear(); // missing rows, for every group
            for (int group = 0; group < weight.Groups; group++)
            {
                for (int r = 0; r < count; r++)
                {
                    WeightRows.Chunk(weight, row + r, group, new Span<float>(chunk + r * columns, columns));
                }

                float* target = panel + group * columns * (long)PanelRows;
                for (int r = 0; r < PanelRows; r += 8)
                {
                    for (int k = 0; k < columns; k += 8)
                    {
                        Transpose8x8(chunk + r * columns + k, columns, target + k * PanelRows + r, PanelRows);
                    }
                }
            }
        }
    }

    /// <summary>d[j * dStride + i] = s[i * sStride + j] for i, j &lt; 8 (unpack, shuffle, then swap 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, int sStride, float* d, int dStride)
    {
        var t0 = Avx.UnpackLow(Avx.LoadVector256(s), Avx.LoadVector256(s + sStride));
        var t1 = Avx.UnpackHigh(Avx.LoadVector256(s), Avx.LoadVector256(s + sStride));
        var t2 = Avx.UnpackLow(Avx.LoadVector256(s + 2 * sStride), Avx.LoadVector256(s + 3 * sStride));
        var t3 = Avx.UnpackHigh(Avx.LoadVector256(s + 2 * sStride), Avx.LoadVector256(s + 3 * sStride));
        var t4 = Avx.UnpackLow(Avx.LoadVector256(s + 4 * sStride), Avx.LoadVector256(s + 5 * sStride));
        var t5 = Avx.UnpackHigh(Avx.LoadVector256(s + 4 * sStride), Avx.LoadVector256(s + 5 * sStride));
        var t6 = Avx.UnpackLow(Avx.LoadVector256(s + 6 * sStride), Avx.LoadVector256(s + 7 * sStride));
        var t7 = Avx.UnpackHigh(Avx.LoadVector256(s + 6 * sStride), Avx.LoadVector256(s + 7 * sStride));
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + dStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * dStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * dStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * dStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * dStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * dStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * dStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// c[t * cStride + j] = Σ_k x[t * xStride + k] · panel[k * 32 + j] for t &lt; tokens (1..6), j &lt; 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x32(float* panel, float* x, long xStride, int tokens, int cols, float* c, long cStride)
    {
        float* x0 = x;
        float* x1 = x + Math.Min(1, tokens - 1) * xStride;
        float* x2 = x + Math.Min(2, tokens - 1) * xStride;
        float* x3 = x + Math.Min(3, tokens - 1) * xStride;
        float* x4 = x + Math.Min(4, tokens - 1) * xStride;
        float* x5 = x + Math.Min(5, tokens - 1) * xStride;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* p = panel;
        for (int k = 0; k < cols; k++, p += PanelRows)
        {
            var w0 = Vector512.Load(p);
            var w1 = Vector512.Load(p + 16);
            var b = Vector512.Create(x0[k]);
            c00 = Avx512F.FusedMultiplyAdd(w0, b, c00); c01 = Avx512F.FusedMultiplyAdd(w1, b, c01);
            b = Vector512.Create(x1[k]);
            c10 = Avx512F.FusedMultiplyAdd(w0, b, c10); c11 = Avx512F.FusedMultiplyAdd(w1, b, c11);
            b = Vector512.Create(x2[k]);
            c20 = Avx512F.FusedMultiplyAdd(w0, b, c20); c21 = Avx512F.FusedMultiplyAdd(w1, b, c21);
            b = Vector512.Create(x3[k]);
            c30 = Avx512F.FusedMultiplyAdd(w0, b, c30); c31 = Avx512F.FusedMultiplyAdd(w1, b, c31);
            b = Vector512.Create(x4[k]);
            c40 = Avx512F.FusedMultiplyAdd(w0, b, c40); c41 = Avx512F.FusedMultiplyAdd(w1, b, c41);
            b = Vector512.Create(x5[k]);
            c50 = Avx512F.FusedMultiplyAdd(w0, b, c50); c51 = Avx512F.FusedMultiplyAdd(w1, b, c51);
        }

        c00.Store(c); c01.Store(c + 16);
        if (tokens > 1) { c10.Store(c + cStride); c11.Store(c + cStride + 16); }
        if (tokens > 2) { c20.Store(c + 2 * cStride); c21.Store(c + 2 * cStride + 16); }
        if (tokens > 3) { c30.Store(c + 3 * cStride); c31.Store(c + 3 * cStride + 16); }
        if (tokens > 4) { c40.Store(c + 4 * cStride); c41.Store(c + 4 * cStride + 16); }
        if (tokens > 5) { c50.Store(c + 5 * cStride); c51.Store(c + 5 * cStride + 16); }
    }
}
