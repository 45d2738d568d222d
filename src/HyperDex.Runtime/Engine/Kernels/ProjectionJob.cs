using HyperDex.Runtime.Compiled;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// y = x · Wᵀ (+ b) for every row of a step, over one or more weight matrices that share the input (q/k/v, gate/up).
/// The output rows of all matrices form one index range split across the device's workers. Each worker widens a
/// tile of weight rows to fp32 once and applies it to every input row, so prefill (many rows) reads each weight
/// once per step, and a register-tiled kernel (<see cref="DotKernels"/>) computes 4 rows × 4 tokens per pass: matrix-matrix
/// work. Decode (one row) streams each weight row exactly once.
/// </summary>
internal sealed unsafe class ProjectionJob : ParallelJob
{
    private const int TileRows = 8;

    private readonly Target[] _targets;
    private readonly int[] _firstRow;
    private readonly float[][] _scratch;
    private readonly int _maxCols;
    private readonly short[]? _quantized;
    private readonly float[] _scales = [];

    public ProjectionJob(IReadOnlyList<Target> targets, int workers)
    {
        _targets = targets.ToArray();
        _firstRow = new int[_targets.Length + 1];
        int maxCols = 0;
        for (int i = 0; i < _targets.Length; i++)
        {
            _firstRow[i + 1] = _firstRow[i] + _targets[i].Weight.Rows;
            maxCols = Math.Max(maxCols, _targets[i].Weight.Cols);
        }

        _scratch = new float[workers][];
        for (int w = 0; w < workers; w++)
        {
            _scratch[w] = new float[TileRows * maxCols];
        }

        _maxCols = maxCols;
        if (_targets.Any(t => t.Weight.Dtype == HdxDtype.Q8))
        {
            _quantized = new short[(BlockedMinRows - 1) * maxCols];
            _scales = new float[(BlockedMinRows - 1) * (maxCols / 32)];
        }
    }

    /// <summary>
    /// Quantizes the input rows for the Q8 decode kernel when it will run (int16 per block of 32, see
    /// <see cref="MatVecKernels.QuantizeInput"/>), then splits the output rows across the pool's workers.
    /// </summary>
    public void Run(ComputePool pool)
    {
        if (_quantized is not null && MatVecKernels.IsSupported && Rows < BlockedMinRows)
        {
            int cols = _targets.First(t => t.Weight.Dtype == HdxDtype.Q8).Weight.Cols;
            for (int row = 0; row < Rows; row++)
            {
                MatVecKernels.QuantizeInput(Input.Row(FirstInputRow + row)[..cols], _quantized.AsSpan(row * _maxCols, cols),
                    _scales.AsSpan(row * (_maxCols / 32), cols / 32));
            }
        }

        pool.Run(this, TotalRows, MinRowsPerWorker);
    }

    /// <summary>Output rows of all targets together (the index range to split).</summary>
    public int TotalRows => _firstRow[^1];

    /// <summary>Output rows per worker below which splitting costs more than it saves (2 · cols · Rows flops per row).</summary>
    public int MinRowsPerWorker => Math.Max(1, ComputePool.MinWorkPerWorker / Math.Max(1, 2 * _maxCols * Rows));

    public ActivationBuffer Input { get; set; } = null!;

    /// <summary>Input row that maps to output row 0.</summary>
    public int FirstInputRow { get; set; }

    public int Rows { get; set; }

    /// <summary>Input rows from which packing a weight panel (prefill) beats streaming the rows once per input row.</summary>
    public const int BlockedMinRows = 6;

    /// <summary>Whole 32-row panels in prefill, whole 4-row groups otherwise.</summary>
    public override int Granularity => MatVecKernels.IsSupported && Rows >= BlockedMinRows ? GemmKernels.PanelRows : 4;

    public override void Execute(int start, int end, int worker)
    {
        if (!MatVecKernels.IsSupported)
        {
            ExecuteWidened(start, end, worker);
        }
        else if (Rows >= BlockedMinRows)
        {
            ExecuteBlocked(start, end);
        }
        else
        {
            ExecuteStreaming(start, end);
        }
    }

    /// <summary>
    /// The output rows from <paramref name="r"/> that one pass handles: at most <paramref name="maxRows"/>, within
    /// <paramref name="end"/> and within one target matrix (advanced in <paramref name="target"/>), starting at row
    /// <paramref name="local"/> of that matrix.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextSpan(int r, int end, int maxRows, ref int target, out int local)
    {
        while (r >= _firstRow[target + 1])
        {
            target++;
        }

        local = r - _firstRow[target];
        return Math.Min(maxRows, Math.Min(end, _firstRow[target + 1]) - r);
    }

    /// <summary>Decode: each group of 4 weight rows is read once from the image and applied to every input row.</summary>
    private void ExecuteStreaming(int start, int end)
    {
        int* rows = stackalloc int[4];
        float* results = stackalloc float[4];
        int target = 0;
        int inputWidth = Input.Width;
        fixed (float* inputBase = Input.Data)
        {
            for (int r = start; r < end;)
            {
                int count = NextSpan(r, end, 4, ref target, out int local);
                ref readonly Target t = ref _targets[target];
                for (int q = 0; q < 4; q++)
                {
                    rows[q] = local + Math.Min(q, count - 1);
                }

                int width = t.Output.Width;
                fixed (float* output = t.Output.Data)
                fixed (short* quantized = _quantized)
                fixed (float* scales = _scales)
                {
                    for (int row = 0; row < Rows; row++)
                    {
                        if (t.Weight.Dtype == HdxDtype.Q8)
                        {
                            MatVecKernels.Dot4Q8(t.Weight, rows, quantized + row * (long)_maxCols, scales + row * (long)(_maxCols / 32), results);
                        }
                        else
                        {
                            MatVecKernels.Dot4(t.Weight, rows, inputBase + (FirstInputRow + row) * (long)inputWidth, results);
                        }

                        float* y = output + row * (long)width + t.OutputOffset + local;
                        for (int q = 0; q < count; q++)
                        {
                            y[q] = t.Bias is null ? results[q] : results[q] + t.Bias[local + q];
                        }
                    }
                }

                r += count;
            }
        }
    }

    /// <summary>Prefill: 32 weight rows packed once into a panel, then 6 × 32 register tiles over all input rows.</summary>
    private void ExecuteBlocked(int start, int end)
    {
        const int Tile = GemmKernels.PanelRows;
        float* temp = stackalloc float[GemmKernels.TileTokens * Tile];
        int target = 0;
        int inputWidth = Input.Width;
        fixed (float* inputBase = Input.Data)
        {
            for (int r = start; r < end;)
            {
                int count = NextSpan(r, end, Tile, ref target, out int local);
                ref readonly Target t = ref _targets[target];
                int cols = t.Weight.Cols;
                float[] panelArray = GemmKernels.Panel(cols);
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
                        if (count == Tile)
                        {
                            GemmKernels.Tile6x32(panel, x, inputWidth, tokens, cols, y, width);
                        }
                        else
                        {
                            GemmKernels.Tile6x32(panel, x, inputWidth, tokens, cols, temp, Tile);
                            for (int k = 0; k < tokens; k++)
                            {
                                new ReadOnlySpan<float>(temp + k * Tile, count).CopyTo(new Span<float>(y + k * (long)width, count));
                            }
                        }

                        if (t.Bias is not null)
                        {
                            var bias = new ReadOnlySpan<float>(t.Bias + local, count);
                            for (int k = 0; k < tokens; k++)
                            {
                                var span = new Span<float>(y + k * (long)width, count);
                                TensorPrimitives.Add(span, bias, span);
                            }
                        }
                    }
                }

                r += count;
            }
        }
    }

    /// <summary>Portable path: rows widened to fp32 in scratch per tile, then <see cref="DotKernels"/>.</summary>
    private void ExecuteWidened(int start, int end, int worker)
    {
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
                int count = NextSpan(r, end, TileRows, ref target, out int local);
                ref readonly Target t = ref _targets[target];
                int cols = t.Weight.Cols;
                for (int j = 0; j < count; j++)
                {
                    var span = WeightRows.Get(t.Weight, local + j, new Span<float>(scratchBase + j * cols, cols));
                    tile[j] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
                }

                float[] output = t.Output.Data;
                int width = t.Output.Width;
                for (int row = 0; row < Rows;)
                {
                    int tokens = Rows - row >= 4 ? 4 : 1;
                    float* x = inputBase + (FirstInputRow + row) * (long)inputWidth;
                    int j = 0;
                    for (; j + 4 <= count; j += 4)
                    {
                        DotKernels.Dot4((float**)(tile + j), x, inputWidth, tokens, cols, results);
                        for (int k = 0; k < tokens; k++)
                        {
                            int outputBase = (row + k) * width + t.OutputOffset + local + j;
                            for (int q = 0; q < 4; q++)
                            {
                                output[outputBase + q] = t.Bias is null ? results[k * 4 + q] : results[k * 4 + q] + t.Bias[local + j + q];
                            }
                        }
                    }

                    for (; j < count; j++)
                    {
                        var weights = new ReadOnlySpan<float>((float*)tile[j], cols);
                        for (int k = 0; k < tokens; k++)
                        {
                            float value = TensorPrimitives.Dot(new ReadOnlySpan<float>(x + k * (long)inputWidth, cols), weights);
                            output[(row + k) * width + t.OutputOffset + local + j] = t.Bias is null ? value : value + t.Bias[local + j];
                        }
                    }

                    row += tokens;
                }

                r += count;
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
