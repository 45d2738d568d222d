using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// The decode kernels' input rows, prepared once per step for every weight dtype the job reads, zero-padded to the
/// widest tile group and in each kernel's lane order, so the kernels spend no instruction on rearranging weights:
/// <list type="bullet">
/// <item>F32: as is.</item>
/// <item>BF16 and F16: per group of 32 columns the even columns, then the odd ones, matching a 64-byte weight load
/// read as 16 pairs (low half even, high half odd). F16 rows are also scaled by 2^56, see <see cref="MatVecKernels"/>.</item>
/// <item>Q8: int16 per block of 32 with one scale each (<see cref="MatVecKernels.QuantizeInput"/>), then per 64
/// columns the even columns, then the odd ones.</item>
/// </list>
/// </summary>
internal sealed unsafe class DecodeInput
{
    /// <summary>2^56: an F16 weight's bits widened in registers are its value × 2^-112; half of that comes back here.</summary>
    public const float HalfInputScale = 7.2057594e16f;

    private readonly int _paddedCols;
    private readonly float[] _plain;
    private readonly float[]? _halves;
    private readonly float[]? _bfloats;
    private readonly short[]? _quantized;
    private readonly short[]? _quantizedBlocks;
    private readonly float[]? _scales;

    public DecodeInput(IReadOnlyCollection<HdxDtype> dtypes, int paddedCols, int rows)
    {
        _paddedCols = paddedCols;
        _plain = GC.AllocateArray<float>(rows * paddedCols, pinned: true);
        if (dtypes.Contains(HdxDtype.F16))
        {
            _halves = GC.AllocateArray<float>(rows * paddedCols, pinned: true);
        }

        if (dtypes.Contains(HdxDtype.BF16))
        {
            _bfloats = GC.AllocateArray<float>(rows * paddedCols, pinned: true);
        }

        if (dtypes.Contains(HdxDtype.Q8))
        {
            _quantized = GC.AllocateArray<short>(rows * paddedCols, pinned: true);
            _quantizedBlocks = new short[paddedCols];
            _scales = GC.AllocateArray<float>(rows * (paddedCols / WeightTiles.Q8BlockSize), pinned: true);
        }
    }

    /// <summary>Prepares row <paramref name="row"/> from <paramref name="x"/> (at most the padded width).</summary>
    public void Prepare(int row, ReadOnlySpan<float> x)
    {
        Span<float> plain = _plain.AsSpan(row * _paddedCols, _paddedCols);
        x.CopyTo(plain);
        if (_halves is not null)
        {
            Pairs(plain, _halves.AsSpan(row * _paddedCols, _paddedCols), 32, HalfInputScale);
        }

        if (_bfloats is not null)
        {
            Pairs(plain, _bfloats.AsSpan(row * _paddedCols, _paddedCols), 32, 1f);
        }

        if (_quantized is not null)
        {
            int blocks = _paddedCols / WeightTiles.Q8BlockSize;
            MatVecKernels.QuantizeInput(plain, _quantizedBlocks, _scales.AsSpan(row * blocks, blocks));
            Pairs<short>(_quantizedBlocks, _quantized.AsSpan(row * _paddedCols, _paddedCols), 64);
        }
    }

    public float* Floats(int row, HdxDtype dtype)
    {
        float[] source = dtype switch
        {
            HdxDtype.F16 => _halves!,
            HdxDtype.BF16 => _bfloats!,
            _ => _plain,
        };
        return (float*)Unsafe(source) + row * (long)_paddedCols;
    }

    public short* Quantized(int row) => (short*)Unsafe(_quantized!) + row * (long)_paddedCols;

    public float* Scales(int row) => (float*)Unsafe(_scales!) + row * (long)(_paddedCols / WeightTiles.Q8BlockSize);

    /// <summary>The pinned array's first element (arrays here are pinned for the job's life).</summary>
    private static void* Unsafe<T>(T[] array) where T : unmanaged =>
        System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(array));

    /// <summary>Per <paramref name="width"/> values: the even ones, then the odd ones (× <paramref name="scale"/>).</summary>
    private static void Pairs(ReadOnlySpan<float> source, Span<float> target, int width, float scale)
    {
        for (int start = 0; start < source.Length; start += width)
        {
            for (int j = 0; j < width / 2; j++)
            {
                target[start + j] = source[start + (2 * j)] * scale;
                target[start + (width / 2) + j] = source[start + (2 * j) + 1] * scale;
            }
        }
    }

    private static void Pairs<T>(ReadOnlySpan<T> source, Span<T> target, int width)
    {
        for (int start = 0; start < source.Length; start += width)
        {
            for (int j = 0; j < width / 2; j++)
            {
                target[start + j] = source[start + (2 * j)];
                target[start + (width / 2) + j] = source[start + (2 * j) + 1];
            }
        }
    }
}
