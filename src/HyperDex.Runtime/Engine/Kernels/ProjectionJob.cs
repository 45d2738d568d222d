using HyperDex.Runtime.Compiled;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// y = x · Wᵀ (+ b) for every row of a step, over one or more weight matrices that share the input (q/k/v, gate/up).
/// The output rows of all matrices form one index range split across the device's workers; each matrix starts at a
/// whole tile (<see cref="WeightTiles"/>) of it, so every worker's share is whole tiles. Decode (few rows) streams each
/// tile exactly once through <see cref="MatVecKernels"/>. Prefill packs 32 weight rows once into an fp32 panel and
/// applies it to every input row with the register-tiled <see cref="GemmKernels"/>: matrix-matrix work.
/// </summary>
internal sealed unsafe class ProjectionJob : ParallelJob
{
    private readonly Target[] _targets;
    private readonly int[] _firstRow;
    private readonly float[][] _scratch;
    private readonly int _maxCols;
    private readonly int _paddedCols;
    private readonly DecodeInput _decodeInput;

    public ProjectionJob(IReadOnlyList<Target> targets, int workers)
    {
        _targets = targets.ToArray();
        _firstRow = new int[_targets.Length + 1];
        for (int i = 0; i < _targets.Length; i++)
        {
            _firstRow[i + 1] = _firstRow[i] + _targets[i].Weight.PaddedRows;
        }

        _maxCols = _targets.Max(t => t.Weight.Cols);
        _paddedCols = _targets.Max(t => t.Weight.PaddedCols);
        _scratch = new float[workers][];
        for (int w = 0; w < workers; w++)
        {
            _scratch[w] = new float[WeightTiles.TileRows * _paddedCols];
        }

        _decodeInput = new DecodeInput(_targets.Select(t => t.Weight.Dtype).ToHashSet(), _paddedCols, BlockedMinRows - 1);
    }

    /// <summary>
    /// For the decode kernels, prepares the input rows once (<see cref="DecodeInput"/>); then splits the output rows
    /// across the pool's workers.
    /// </summary>
    public void Run(ComputePool pool)
    {
        if (Streams)
        {
            for (int row = 0; row < Rows; row++)
            {
                _decodeInput.Prepare(row, Input.Row(FirstInputRow + row)[.._maxCols]);
            }
        }

        pool.Run(this, TotalRows, MinRowsPerWorker);
    }

    /// <summary>True when the decode kernels run: few input rows, AVX-512.</summary>
    private bool Streams => MatVecKernels.IsSupported && Rows < BlockedMinRows;

    /// <summary>Output rows of all targets together, each padded to whole tiles (the index range to split).</summary>
    public int TotalRows => _firstRow[^1];

    /// <summary>Output rows per worker below which splitting costs more than it saves (2 · cols · Rows flops per row).</summary>
    public int MinRowsPerWorker => Math.Max(1, ComputePool.MinWorkPerWorker / Math.Max(1, 2 * _maxCols * Rows));

    public ActivationBuffer Input { get; set; } = null!;

    /// <summary>Input row that maps to output row 0.</summary>
    public int FirstInputRow { get; set; }

    public int Rows { get; set; }

    /// <summary>Input rows from which packing a weight panel (prefill) beats streaming the rows once per input row.</summary>
    public const int BlockedMinRows = 6;

    /// <summary>Whole 32-row panels in prefill, whole tiles otherwise.</summary>
    public override int Granularity => MatVecKernels.IsSupported && Rows >= BlockedMinRows ? GemmKernels.PanelRows : WeightTiles.TileRows;

    public override void Execute(int start, int end, int worker)
    {
        if (!MatVecKernels.IsSupported)
        {
            ExecuteWidened(start, end, worker);
        }
        else if (Streams)
        {
            ExecuteStreaming(start, end);
        }
        else
        {
            ExecuteBlocked(start, end);
        }
    }

    /// <summary>
    /// The output rows from <paramref name="r"/> that one pass handles: at most <paramref name="maxRows"/>, within
    /// <paramref name="end"/> and within one target matrix (advanced in <paramref name="target"/>), starting at row
    /// <paramref name="local"/> of that matrix. Returns the index positions to advance; <paramref name="count"/> is
    /// the real rows among them (the rest is tile padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextSpan(int r, int end, int maxRows, ref int target, out int local, out int count)
    {
        while (r >= _firstRow[target + 1])
        {
            target++;
        }

        local = r - _firstRow[target];
        int span = Math.Min(maxRows, Math.Min(end, _firstRow[target + 1]) - r);
        count = Math.Min(span, _targets[target].Weight.Rows - local);
        return span;
    }

    /// <summary>Decode: each tile is read once from the image and applied to every input row.</summary>
    private void ExecuteStreaming(int start, int end)
    {
        float* results = stackalloc float[WeightTiles.TileRows];
        int target = 0;
        for (int r = start; r < end;)
        {
            int span = NextSpan(r, end, WeightTiles.TileRows, ref target, out int local, out int count);
            ref readonly Target t = ref _targets[target];
            System.Diagnostics.Debug.Assert(local % WeightTiles.TileRows == 0, "targets start on whole tiles and the granularity is a tile");
            int tile = local / WeightTiles.TileRows;
            int width = t.Output.Width;
            fixed (float* output = t.Output.Data)
            {
                for (int row = 0; row < Rows; row++)
                {
                    if (t.Weight.Dtype == HdxDtype.Q8)
                    {
                        MatVecKernels.DotTileQ8(t.Weight, tile, _decodeInput.Quantized(row), _decodeInput.Scales(row), results);
                    }
                    else
                    {
                        MatVecKernels.DotTile(t.Weight, tile, _decodeInput.Floats(row, t.Weight.Dtype), results);
                    }

                    float* y = output + row * (long)width + t.OutputOffset + local;
                    for (int q = 0; q < count; q++)
                    {
                        y[q] = t.Bias is null ? results[q] : results[q] + t.Bias[local + q];
                    }
                }
            }

            r += span;
        }
    }

    /// <summary>Prefill: 32 weight rows packed once into a panel, then 6 × 32 register tiles over all input rows.</summary>
    private void ExecuteBlocked(int start, int end)
    {
        const int Panel = GemmKernels.PanelRows;
        float* temp = stackalloc float[GemmKernels.TileTokens * Panel];
        int target = 0;
        int inputWidth = Input.Width;
        fixed (float* inputBase = Input.Data)
        {
            for (int r = start; r < end;)
            {
                int span = NextSpan(r, end, Panel, ref target, out int local, out int count);
                ref readonly Target t = ref _targets[target];
                int cols = t.Weight.Cols;
                float[] panelArray = GemmKernels.Panel(t.Weight.PaddedCols);
                int width = t.Output.Width;
                fixed (float* panelBase = panelArray)
                fixed (float* output = t.Output.Data)
                {
                    float* panel = (float*)(((nint)panelBase + 63) & ~(nint)63);
                    GemmKernels.Pack(t.Weight, local, count, panel);
                    for (int row = 0; row < Rows; row += GemmKernels.TileTokens)
                    {
                        int tokens = Math.Min(GemmKernels.TileTokens, Rows - row);
                        float* x = inputBase + (FirstInputRow + row) * (long)inputWidth;
                        float* y = output + row * (long)width + t.OutputOffset + local;
                        if (count == Panel)
                        {
                            GemmKernels.Tile6x32(panel, x, inputWidth, tokens, cols, y, width);
                        }
                        else
                        {
                            GemmKernels.Tile6x32(panel, x, inputWidth, tokens, cols, temp, Panel);
                            for (int k = 0; k < tokens; k++)
                            {
                                new ReadOnlySpan<float>(temp + k * Panel, count).CopyTo(new Span<float>(y + k * (long)width, count));
                            }
                        }

                        if (t.Bias is not null)
                        {
                            var bias = new ReadOnlySpan<float>(t.Bias + local, count);
                            for (int k = 0; k < tokens; k++)
                            {
                                var outputRow = new Span<float>(y + k * (long)width, count);
                                TensorPrimitives.Add(outputRow, bias, outputRow);
                            }
                        }
                    }
                }

                r += span;
            }
        }
    }

    /// <summary>Portable path: a tile's rows widened to fp32 in scratch, then <see cref="DotKernels"/>.</summary>
    private void ExecuteWidened(int start, int end, int worker)
    {
        const int TileRows = WeightTiles.TileRows;
        nint* tile = stackalloc nint[TileRows];
        float* results = stackalloc float[16];
        float[] scratch = _scratch[worker];
        int target = 0;
        int inputWidth = Input.Width;
        fixed (float* scratchBase = scratch)
        fixed (float* inputBase = Input.Data)
        {
            for (int r = start; r < end;)
            {
                int span = NextSpan(r, end, TileRows, ref target, out int local, out int count);
                ref readonly Target t = ref _targets[target];
                int cols = t.Weight.Cols;
                for (int j = 0; j < TileRows; j++)
                {
                    // A tile's padding rows are zeros in the image; their results are dropped.
                    float* row = scratchBase + j * _paddedCols;
                    WeightRows.Get(t.Weight, local + j, new Span<float>(row, _paddedCols));
                    tile[j] = (nint)row;
                }

                float[] output = t.Output.Data;
                int width = t.Output.Width;
                for (int row = 0; row < Rows;)
                {
                    int tokens = Rows - row >= 4 ? 4 : 1;
                    float* x = inputBase + (FirstInputRow + row) * (long)inputWidth;
                    DotKernels.Dot4((float**)tile, x, inputWidth, tokens, cols, results);
                    for (int k = 0; k < tokens; k++)
                    {
                        int outputBase = (row + k) * width + t.OutputOffset + local;
                        for (int q = 0; q < count; q++)
                        {
                            output[outputBase + q] = t.Bias is null ? results[k * 4 + q] : results[k * 4 + q] + t.Bias[local + q];
                        }
                    }

                    row += tokens;
                }

                r += span;
            }
        }
    }

    /// <summary>One matrix of the projection and where its output goes.</summary>
    internal readonly struct Target
    {
        public Target(WeightTensor weight, ActivationBuffer output, int outputOffset, float* bias)
        {
            Weight = weight;
            Output = output;
            OutputOffset = outputOffset;
            Bias = bias;
        }

        public WeightTensor Weight { get; }

        public ActivationBuffer Output { get; }

        /// <summary>Column of the output row where this matrix's first output goes.</summary>
        public int OutputOffset { get; }

        public float* Bias { get; }
    }
}
