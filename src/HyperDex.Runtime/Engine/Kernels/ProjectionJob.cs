using HyperDex.Runtime.Compiled;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// y = x · Wᵀ (+ b) for every row of a step, over one or more weight matrices that share the input (q/k/v, gate/up).
/// The output rows of all matrices form one index range split across the device's workers; each matrix starts at a
/// whole tile (<see cref="WeightTiles"/>) of it, so every worker's share is whole tiles. Decode (few rows) streams each
/// tile exactly once through <see cref="MatVecKernels"/>. Prefill packs 32 weight rows once into an fp32 panel and
/// applies it to every input row with the register-tiled <see cref="GemmKernels"/>: matrix-matrix work. For bf16
/// weights, where the native library runs (<see cref="NativeKernels"/>), the input rows are rounded to bf16 once per
/// step and each panel is multiplied as bf16 pairs with AVX512-BF16, as llama.cpp does; for Q8 weights the input rows
/// are quantized to int16 per block of 32 once per step (as the Q8 decode kernel quantizes them) and each panel is
/// multiplied as int16 pairs with AVX512-VNNI, exact within each block.
/// </summary>
internal sealed unsafe class ProjectionJob : ParallelJob
{
    private readonly Target[] _targets;
    private readonly int[] _firstRow;
    private readonly float[][] _scratch;
    private readonly int _maxCols;
    private readonly int _paddedCols;
    private readonly HashSet<HdxDtype> _dtypes;
    private readonly bool _hasBf16;
    private readonly bool _hasQ8;

    /// <summary>This step's prepared input rows while the decode kernels run (<see cref="Run"/>), else null.</summary>
    private DecodeInput? _decodeInput;

    /// <summary>The calling thread's bf16 copy of the input rows for the native kernel (grows, never shrinks).</summary>
    [ThreadStatic]
    private static ushort[]? t_bf16Input;

    /// <summary>This step's bf16 input rows (pinned, <see cref="_paddedCols"/> apart), or null: managed kernels only.</summary>
    private ushort* _bf16Input;

    /// <summary>The calling thread's int16 input rows and block scales for the native Q8 kernel (grow, never shrink).</summary>
    [ThreadStatic]
    private static short[]? t_q8Input;

    [ThreadStatic]
    private static float[]? t_q8Scales;

    /// <summary>This step's int16 input rows (<see cref="_paddedCols"/> apart) and their block scales, or null.</summary>
    private short* _q8Input;

    private float* _q8Scales;

    /// <summary>Q8 blocks of 32 in an input row of the padded width: the native Q8 kernel's scales per row.</summary>
    private int InputBlocks => _paddedCols / WeightTiles.Q8BlockSize;

    /// <param name="roundsInput">
    /// False keeps the input exact (no bf16 rounding by the native kernel): for a decision that is discrete, such as
    /// a mixture-of-experts router, where a rounding-sized change of a logit may pick another expert (llama.cpp
    /// likewise keeps router weights in fp32).
    /// </param>
    public ProjectionJob(IReadOnlyList<Target> targets, int workers, bool roundsInput = true)
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

        _dtypes = _targets.Select(t => t.Weight.Dtype).ToHashSet();
        _hasBf16 = roundsInput && _targets.Any(t => t.Weight.Dtype == HdxDtype.BF16);
        _hasQ8 = roundsInput && _targets.Any(t => t.Weight.Dtype == HdxDtype.Q8);
    }

    /// <summary>
    /// For the decode kernels, prepares the input rows once (<see cref="DecodeInput"/>); then splits the output rows
    /// across the pool's workers.
    /// </summary>
    public void Run(ComputePool pool)
    {
        if (Streams)
        {
            // Rented for the step only: the device's projections run one at a time and share it (DecodeInput.Rent).
            _decodeInput = DecodeInput.Rent(_dtypes, _paddedCols, Rows);
            try
            {
                for (int row = 0; row < Rows; row++)
                {
                    _decodeInput.Prepare(row, Input.Row(FirstInputRow + row)[.._maxCols]);
                }

                pool.Run(this, TotalRows, MinRowsPerWorker);
            }
            finally
            {
                DecodeInput.Return(_decodeInput);
                _decodeInput = null;
            }

            return;
        }

        bool nativeBf16 = _hasBf16 && MatVecKernels.IsSupported && NativeKernels.Bf16Gemm;
        bool nativeQ8 = _hasQ8 && MatVecKernels.IsSupported && NativeKernels.Q8Gemm;
        if (!nativeBf16 && !nativeQ8)
        {
            pool.Run(this, TotalRows, MinRowsPerWorker);
            return;
        }

        long length = (long)Rows * _paddedCols;
        if (FirstInputRow < 0 || Rows < 0 || FirstInputRow + Rows > Input.Rows || _maxCols > Input.Width || length > Array.MaxLength)
        {
            throw new InvalidOperationException($"input rows {FirstInputRow}..{FirstInputRow + Rows} of {Input.Rows} do not fit the projection");
        }

        if (nativeBf16 && (t_bf16Input is null || t_bf16Input.Length < length))
        {
            t_bf16Input = GC.AllocateUninitializedArray<ushort>((int)length, pinned: true);
        }

        if (nativeQ8 && (t_q8Input is null || t_q8Input.Length < length))
        {
            t_q8Input = GC.AllocateUninitializedArray<short>((int)length, pinned: true);
        }

        if (nativeQ8 && (t_q8Scales is null || t_q8Scales.Length < Rows * InputBlocks))
        {
            t_q8Scales = GC.AllocateUninitializedArray<float>(Rows * InputBlocks, pinned: true);
        }

        // Prepared once here, read by every worker's panels; the arrays are pinned and the job ends within this call.
        fixed (ushort* bf16 = nativeBf16 ? t_bf16Input : null)
        fixed (short* q8 = nativeQ8 ? t_q8Input : null)
        fixed (float* q8Scales = nativeQ8 ? t_q8Scales : null)
        fixed (float* input = Input.Data)
        {
            float* first = input + FirstInputRow * (long)Input.Width;
            if (nativeBf16)
            {
                NativeKernels.RoundRows(first, Input.Width, Rows, _maxCols, bf16, _paddedCols);
            }

            if (nativeQ8)
            {
                NativeKernels.QuantizeRows(first, Input.Width, Rows, _maxCols, InputBlocks, q8, _paddedCols, q8Scales, InputBlocks);
            }

            _bf16Input = bf16;
            _q8Input = q8;
            _q8Scales = q8Scales;
            try
            {
                pool.Run(this, TotalRows, MinRowsPerWorker);
            }
            finally
            {
                _bf16Input = null;
                _q8Input = null;
                _q8Scales = null;
            }
        }
    }

    /// <summary>True when the decode kernels run: few input rows, AVX-512.</summary>
    private bool Streams => MatVecKernels.IsSupported && Rows < (_hasBf16 && NativeKernels.Bf16Gemm ? NativeBf16BlockedMinRows : BlockedMinRows);

    /// <summary>Output rows of all targets together, each padded to whole tiles (the index range to split).</summary>
    public int TotalRows => _firstRow[^1];

    /// <summary>Output rows per worker below which splitting costs more than it saves (2 · cols · Rows flops per row).</summary>
    public int MinRowsPerWorker => Math.Max(1, ComputePool.MinWorkPerWorker / Math.Max(1, 2 * _maxCols * Rows));

    public ActivationBuffer Input { get; set; } = null!;

    /// <summary>Input row that maps to output row 0.</summary>
    public int FirstInputRow { get; set; }

    public int Rows { get; set; }

    /// <summary>Panels this job has run on a native kernel, bf16 or Q8 (tests check that path is really taken).</summary>
    public long NativePanels => Interlocked.Read(ref _nativePanels);

    private long _nativePanels;

    /// <summary>
    /// Input rows from which packing 32-row fp32 panels (prefill) beats streaming each weight tile once per pair of
    /// input rows. Packing is a fixed cost per step (every weight widened and transposed), so it pays only over many
    /// rows: on bench-110m (prefill of N-token prompts, 2026-12-06, scalar transpose) one-row streaming was 1.5–3.7×
    /// faster at 8, 16 and 32 rows in fp16 and int8 and 1.1–1.8× at 48 and 64, the panels won from 128. With the pair
    /// kernel (<see cref="MatVecKernels.DotTile2"/>) streaming 24- and 32-token prompts prefilled bench-1b 1.3× (fp16)
    /// and 2.7–3.5× (int8) faster than the panels, and a 32-client server step served 454 vs 409 tok/s (fp16) and
    /// 520 vs 295 (int8). 33 lets a 32-sequence batched decode step stream; the prepared input rows this needs are
    /// shared by a device's projections (<see cref="DecodeInput.Rent"/>), so their memory does not grow with the jobs.
    /// </summary>
    public const int BlockedMinRows = 33;

    /// <summary>
    /// The same for bf16 weights where the native AVX512-BF16 kernel runs the panels (no packing, twice the multiply
    /// rate): streaming won at 8 rows (445 vs 252 tok/s), the native panels at 16 (340 vs 316) and 32 (867 vs 320).
    /// </summary>
    public const int NativeBf16BlockedMinRows = 12;

    /// <summary>Whole 32-row panels in prefill, whole tiles otherwise.</summary>
    public override int Granularity => MatVecKernels.IsSupported && !Streams ? GemmKernels.PanelRows : WeightTiles.TileRows;

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

    /// <summary>
    /// Decode: each tile is read once from the image and applied to every input row, two rows per pass so each
    /// weight is widened once for both (<see cref="MatVecKernels.DotTile2"/>).
    /// </summary>
    private void ExecuteStreaming(int start, int end)
    {
        DecodeInput input = _decodeInput!;
        float* results = stackalloc float[2 * WeightTiles.TileRows];
        int target = 0;
        for (int r = start; r < end;)
        {
            int span = NextSpan(r, end, WeightTiles.TileRows, ref target, out int local, out int count);
            ref readonly Target t = ref _targets[target];
            System.Diagnostics.Debug.Assert(local % WeightTiles.TileRows == 0, "targets start on whole tiles and the granularity is a tile");
            int tile = local / WeightTiles.TileRows;
            fixed (float* output = t.Output.Data)
            {
                int row = 0;
                for (; row + 1 < Rows; row += 2)
                {
                    if (t.Weight.Dtype == HdxDtype.Q8)
                    {
                        MatVecKernels.DotTile2Q8(t.Weight, tile, input.Quantized(row), input.Scales(row),
                            input.Quantized(row + 1), input.Scales(row + 1), results, results + WeightTiles.TileRows);
                    }
                    else
                    {
                        MatVecKernels.DotTile2(t.Weight, tile, input.Floats(row, t.Weight.Dtype), input.Floats(row + 1, t.Weight.Dtype),
                            results, results + WeightTiles.TileRows);
                    }

                    Store(t, output, row, local, count, results);
                    Store(t, output, row + 1, local, count, results + WeightTiles.TileRows);
                }

                if (row < Rows)
                {
                    if (t.Weight.Dtype == HdxDtype.Q8)
                    {
                        MatVecKernels.DotTileQ8(t.Weight, tile, input.Quantized(row), input.Scales(row), results);
                    }
                    else
                    {
                        MatVecKernels.DotTile(t.Weight, tile, input.Floats(row, t.Weight.Dtype), results);
                    }

                    Store(t, output, row, local, count, results);
                }
            }

            r += span;
        }
    }

    /// <summary>One tile's results (+ bias) into input row <paramref name="row"/>'s output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(in Target t, float* output, int row, int local, int count, float* results)
    {
        float* y = output + row * (long)t.Output.Width + t.OutputOffset + local;
        for (int q = 0; q < count; q++)
        {
            y[q] = t.Bias is null ? results[q] : results[q] + t.Bias[local + q];
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
                if ((_bf16Input is not null && t.Weight.Dtype == HdxDtype.BF16) || (_q8Input is not null && t.Weight.Dtype == HdxDtype.Q8))
                {
                    ExecuteNativePanel(t, local, count);
                    r += span;
                    continue;
                }

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

    /// <summary>
    /// Prefill of one 32-row panel by a native kernel: a bf16 matrix with AVX512-BF16 over the bf16 input rows of
    /// <see cref="Run"/>, a Q8 matrix with AVX512-VNNI over its int16 input rows. The kernels trust their arguments,
    /// so every range they touch is checked here first.
    /// </summary>
    private void ExecuteNativePanel(in Target t, int local, int count)
    {
        WeightTensor weight = t.Weight;
        int width = t.Output.Width;
        long lastTileEnd = ((long)(local + count - 1) / WeightTiles.TileRows + 1) * weight.TileBytes;
        if (local % WeightTiles.TileRows != 0 || count < 1 || count > GemmKernels.PanelRows || local + count > weight.Rows
            || lastTileEnd > weight.Length || weight.PaddedCols > _paddedCols
            || t.OutputOffset + local + count > width || (long)Rows * width > t.Output.Data.Length)
        {
            throw new InvalidOperationException($"{weight.Name}: panel of rows {local}..{local + count} does not fit the image or the output");
        }

        float[] panelArray = GemmKernels.Panel(weight.PaddedCols);
        fixed (float* panelBase = panelArray)
        fixed (float* output = t.Output.Data)
        {
            // bf16: groups · 32 rows · 32 bf16 = PaddedCols · 64 bytes; Q8: groups · 4 blocks · 2,176 bytes =
            // PaddedCols · 68 bytes; both within the fp32 panel's PaddedCols · 128.
            uint* panel = (uint*)(((nint)panelBase + 63) & ~(nint)63);
            float* y = output + t.OutputOffset + local;
            float* bias = t.Bias is null ? null : t.Bias + local;
            if (weight.Dtype == HdxDtype.Q8)
            {
                NativeKernels.Q8Panel(weight.Data, weight.TileBytes, weight.Groups, local, count, _q8Input, _paddedCols, _q8Scales, InputBlocks,
                    Rows, y, width, bias, panel);
            }
            else
            {
                NativeKernels.Bf16Panel(weight.Data, weight.TileBytes, weight.Groups, local, count, _bf16Input, _paddedCols, Rows, y, width, bias, panel);
            }
        }

        Interlocked.Increment(ref _nativePanels);
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
