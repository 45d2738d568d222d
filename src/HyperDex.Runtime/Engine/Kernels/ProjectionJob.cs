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
    }

    /// <summary>Output rows of all targets together (the index range to split).</summary>
    public int TotalRows => _firstRow[^1];

    /// <summary>Output rows per worker below which splitting costs more than it saves (2 · cols · Rows flops per row).</summary>
    public int MinRowsPerWorker => Math.Max(1, ComputePool.MinWorkPerWorker / Math.Max(1, 2 * _maxCols * Rows));

    public ActivationBuffer Input { get; set; } = null!;

    /// <summary>Input row that maps to output row 0.</summary>
    public int FirstInputRow { get; set; }

    public int Rows { get; set; }

    public override void Execute(int start, int end, int worker)
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
                while (r >= _firstRow[target + 1])
                {
                    target++;
                }

                ref readonly Target t = ref _targets[target];
                int local = r - _firstRow[target];
                int count = Math.Min(TileRows, Math.Min(end, _firstRow[target + 1]) - r);
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
