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
    /// panel[k * 32 + r] for k below its padded width, one tile group at a time so the widened rows stay in L1.
    /// </summary>
    public static void Pack(WeightTensor weight, int row, int count, float* panel)
    {
        int columns = WeightTiles.GroupColumns(weight.Dtype);
        t_group ??= new float[PanelRows * WeightTiles.GroupColumns(HdxDtype.Q8)];
        fixed (float* chunk = t_group)
        {
            for (int group = 0; group < weight.Groups; group++)
            {
                for (int r = 0; r < count; r++)
                {
                    WeightRows.Chunk(weight, row + r, group, new Span<float>(chunk + r * columns, columns));
                }

                for (int k = 0; k < columns; k++)
                {
                    float* target = panel + (group * columns + k) * (long)PanelRows;
                    int r = 0;
                    for (; r < count; r++)
                    {
                        target[r] = chunk[r * columns + k];
                    }

                    for (; r < PanelRows; r++)
                    {
                        target[r] = 0;
                    }
                }
            }
        }
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
