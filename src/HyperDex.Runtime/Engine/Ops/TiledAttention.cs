using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// Causal attention of a prefill step computed in tiles, one head per work item: keys of 32 positions are packed
/// into a panel [dim][32] and scores S = Q·Kᵀ come out of the 6 × 32 register tiles of <see cref="GemmKernels"/>
/// (rows × positions), then a softmax per row, then O = P·V with V packed the same way (positions × 32 dims).
/// Tiles wholly above the causal diagonal are skipped. Needs AVX-512 and a head dim that is a multiple of 32.
/// </summary>
internal sealed unsafe class TiledAttention(ActivationBuffer q, ActivationBuffer output, int heads, float scale, KvLayerStorage cache)
    : ParallelJob
{
    /// <summary>Rows from which the tiles pay for the packing.</summary>
    public const int MinRows = GemmKernels.TileTokens;

    private const int Panel = GemmKernels.PanelRows;

    [ThreadStatic]
    private static float[]? t_scores;

    public StepContext? Step { get; set; }

    public bool Supports => cache.HeadDim % Panel == 0;

    public override void Execute(int start, int end, int worker)
    {
        StepContext step = Step!;
        int headDim = cache.HeadDim;
        int rows = step.Rows;
        int length = step.Start + rows;
        int stride = (length + Panel - 1) / Panel * Panel;
        if (t_scores is null || t_scores.Length < rows * stride)
        {
            t_scores = GC.AllocateUninitializedArray<float>(rows * stride, pinned: true);
        }

        float[] panelArray = GemmKernels.Panel(Math.Max(stride, headDim));
        int group = heads / cache.KvHeads;
        fixed (float* scores = t_scores)
        fixed (float* panelBase = panelArray)
        fixed (float* qBase = q.Data)
        fixed (float* oBase = output.Data)
        {
            float* keys = cache.Keys;
            float* values = cache.Values;
            float* panel = (float*)(((nint)panelBase + 63) & ~(nint)63);
            for (int head = start; head < end; head++)
            {
                int kvHead = head / group;
                float* queries = qBase + head * headDim;

                // S = Q·Kᵀ, one panel of 32 positions at a time; row tiles that end before the panel are skipped.
                for (int p0 = 0; p0 < length; p0 += Panel)
                {
                    int count = Math.Min(Panel, length - p0);
                    for (int j = 0; j < Panel; j++)
                    {
                        float* key = j < count ? keys + Position(step, kvHead, p0 + j) : null;
                        for (int d = 0; d < headDim; d++)
                        {
                            panel[d * Panel + j] = key is null ? 0 : key[d];
                        }
                    }

                    int firstRow = Math.Max(0, p0 - step.Start) / GemmKernels.TileTokens * GemmKernels.TileTokens;
                    for (int row = firstRow; row < rows; row += GemmKernels.TileTokens)
                    {
                        int tokens = Math.Min(GemmKernels.TileTokens, rows - row);
                        GemmKernels.Tile6x32(panel, queries + row * (long)q.Width, q.Width, tokens, headDim, scores + row * (long)stride + p0, stride);
                    }
                }

                // Softmax over each row's own positions; the rest of the row up to its tile's end becomes 0.
                for (int row = 0; row < rows; row++)
                {
                    int visible = step.Start + row + 1;
                    int tileEnd = Math.Min(length, step.Start + (row / GemmKernels.TileTokens * GemmKernels.TileTokens) + GemmKernels.TileTokens);
                    var s = new Span<float>(scores + row * (long)stride, visible);
                    TensorPrimitives.Multiply(s, scale, s);
                    float max = TensorPrimitives.Max(s);
                    TensorPrimitives.Subtract(s, max, s);
                    TensorPrimitives.Exp(s, s);
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                    new Span<float>(scores + row * (long)stride + visible, tileEnd - visible).Clear();
                }

                // O = P·V, 32 output dims per panel; each row tile reads only the positions it can see.
                for (int d0 = 0; d0 < headDim; d0 += Panel)
                {
                    for (int p = 0; p < length; p++)
                    {
                        new ReadOnlySpan<float>(values + Position(step, kvHead, p) + d0, Panel).CopyTo(new Span<float>(panel + p * (long)Panel, Panel));
                    }

                    for (int row = 0; row < rows; row += GemmKernels.TileTokens)
                    {
                        int tokens = Math.Min(GemmKernels.TileTokens, rows - row);
                        int seen = step.Start + row + tokens;
                        GemmKernels.Tile6x32(panel, scores + row * (long)stride, stride, tokens, seen,
                            oBase + row * (long)output.Width + head * headDim + d0, output.Width);
                    }
                }
            }
        }
    }

    private int Position(StepContext step, int kvHead, int position) =>
        cache.Offset(step.BlockTable[position / cache.BlockSize], kvHead, position % cache.BlockSize);
}
