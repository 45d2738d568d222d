using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// The decode kernels' input rows, prepared once per step for every weight dtype the job reads, zero-padded to the
/// widest tile group and in each kernel's lane order, so the kernels spend no instruction on rearranging weights:
/// <list type="bullet">
/// <item>F32: as is.</item>
/// <item>BF16 and F16: per group of 32 columns the even columns, then the odd ones, matching a 64-byte weight load
/// read as 16 pairs (low half even, high half odd). F16 rows are also scaled by 2^56, see <see cref="MatVecKernels"/>.</item>
/// <item>Q8: int16 per block of 32 with its own scale (max |x| / 32767, rounded to nearest even), so a block's
/// products are exact integer multiply-adds and the rounding error is below 2^-16 of the block's largest activation,
/// far under the int8 weights' own; then per 64 columns the even columns, then the odd ones.</item>
/// </list>
/// Only the AVX-512 decode kernels read these, so the preparation is AVX-512 too. A projection rents one for its
/// step (<see cref="Rent"/>) and returns it when done.
/// </summary>
internal sealed unsafe class DecodeInput
{
    /// <summary>2^56: an F16 weight's bits widened in registers are its value × 2^-112; half of that comes back here.</summary>
    public const float HalfInputScale = 7.2057594e16f;

    private static readonly Vector512<int> EvenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> OddLanes = EvenLanes + Vector512<int>.One;

    /// <summary>
    /// Inputs not in use. Projections run one at a time on each device's calling thread, so there are only ever as
    /// many inputs as devices stepping at once, each grown to the widest projection and the most rows it has seen:
    /// one job per matrix group (and per expert, in mixture-of-experts models) each holding its own would multiply
    /// that by the jobs.
    /// </summary>
    private static readonly ConcurrentBag<DecodeInput> Free = [];

    private readonly int _stride;
    private readonly int _rows;
    private readonly float[] _plain;
    private float[]? _halves;
    private float[]? _bfloats;
    private short[]? _quantized;
    private float[]? _scales;
    private int _paddedCols;
    private IReadOnlyCollection<HdxDtype> _dtypes = [];

    private DecodeInput(int stride, int rows)
    {
        _stride = stride;
        _rows = rows;
        _plain = GC.AllocateArray<float>(rows * stride, pinned: true);
    }

    /// <summary>
    /// An input for <paramref name="rows"/> rows of <paramref name="paddedCols"/> columns in the given weight dtypes,
    /// to be handed back with <see cref="Return"/> when the projection is done.
    /// </summary>
    public static DecodeInput Rent(IReadOnlyCollection<HdxDtype> dtypes, int paddedCols, int rows)
    {
        if (!Free.TryTake(out var input) || input._stride < paddedCols || input._rows < rows)
        {
            // Too small (or none): replaced by one that fits both it and this request, so it only ever grows.
            input = new DecodeInput(Math.Max(paddedCols, input?._stride ?? 0), Math.Max(rows, input?._rows ?? 0));
        }

        input._paddedCols = paddedCols;
        input._dtypes = dtypes;
        int length = input._rows * input._stride;
        if (dtypes.Contains(HdxDtype.F16))
        {
            input._halves ??= GC.AllocateArray<float>(length, pinned: true);
        }

        if (dtypes.Contains(HdxDtype.BF16))
        {
            input._bfloats ??= GC.AllocateArray<float>(length, pinned: true);
        }

        if (dtypes.Contains(HdxDtype.Q8))
        {
            input._quantized ??= GC.AllocateArray<short>(length, pinned: true);
            input._scales ??= GC.AllocateArray<float>(input._rows * (input._stride / WeightTiles.Q8BlockSize), pinned: true);
        }

        return input;
    }

    /// <summary>Hands the input back for the next projection.</summary>
    public static void Return(DecodeInput input) => Free.Add(input);

    /// <summary>
    /// Prepares row <paramref name="row"/> from <paramref name="x"/> (at most the padded width) for every dtype the
    /// input was rented for; the columns past x up to the padded width are zeros.
    /// </summary>
    public void Prepare(int row, ReadOnlySpan<float> x)
    {
        Span<float> plainRow = _plain.AsSpan(row * _stride, _paddedCols);
        x.CopyTo(plainRow);
        plainRow[x.Length..].Clear(); // a wider projection may have left values there
        float* plain = Floats(row, HdxDtype.F32);
        if (_dtypes.Contains(HdxDtype.F16))
        {
            Pairs(plain, Floats(row, HdxDtype.F16), _paddedCols, HalfInputScale);
        }

        if (_dtypes.Contains(HdxDtype.BF16))
        {
            Pairs(plain, Floats(row, HdxDtype.BF16), _paddedCols, 1f);
        }

        if (_dtypes.Contains(HdxDtype.Q8))
        {
            Quantize(plain, Quantized(row), Scales(row), _paddedCols);
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
        return (float*)Pointer(source) + row * (long)_stride;
    }

    public short* Quantized(int row) => (short*)Pointer(_quantized!) + row * (long)_stride;

    public float* Scales(int row) => (float*)Pointer(_scales!) + row * (long)(_stride / WeightTiles.Q8BlockSize);

    /// <summary>The pinned array's first element (arrays here are pinned for the job's life).</summary>
    private static void* Pointer<T>(T[] array) where T : unmanaged => Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));

    /// <summary>Per 32 values: the 16 even ones, then the 16 odd ones, × <paramref name="scale"/>.</summary>
    private static void Pairs(float* source, float* target, int length, float scale)
    {
        var factor = Vector512.Create(scale);
        for (int c = 0; c < length; c += 32)
        {
            var low = Vector512.Load(source + c);
            var high = Vector512.Load(source + c + 16);
            (Avx512F.PermuteVar16x32x2(low, EvenLanes, high) * factor).Store(target + c);
            (Avx512F.PermuteVar16x32x2(low, OddLanes, high) * factor).Store(target + c + 16);
        }
    }

    /// <summary>The Q8 input: int16 per block of 32 with one scale each, per 64 columns the even ones then the odd ones.</summary>
    private static void Quantize(float* source, short* target, float* scales, int length)
    {
        for (int c = 0; c < length; c += 64)
        {
            var v0 = Block(source + c, scales + (c / 32), out var v1);
            var v2 = Block(source + c + 32, scales + (c / 32) + 1, out var v3);
            Vector512.Create(
                Avx512F.ConvertToVector256Int16(Avx512F.PermuteVar16x32x2(v0, EvenLanes, v1)),
                Avx512F.ConvertToVector256Int16(Avx512F.PermuteVar16x32x2(v2, EvenLanes, v3))).Store(target + c);
            Vector512.Create(
                Avx512F.ConvertToVector256Int16(Avx512F.PermuteVar16x32x2(v0, OddLanes, v1)),
                Avx512F.ConvertToVector256Int16(Avx512F.PermuteVar16x32x2(v2, OddLanes, v3))).Store(target + c + 32);
        }
    }

    /// <summary>One block of 32 rounded (to nearest even) on its scale, as two int32 vectors.</summary>
    private static Vector512<int> Block(float* values, float* scale, out Vector512<int> high)
    {
        float max = MathF.Abs(TensorPrimitives.MaxMagnitude(new ReadOnlySpan<float>(values, 32)));
        float inverse = max == 0 ? 0 : 32767f / max;
        *scale = max / 32767f;
        var factor = Vector512.Create(inverse);
        high = Avx512F.ConvertToVector512Int32(Vector512.Load(values + 16) * factor);
        return Avx512F.ConvertToVector512Int32(Vector512.Load(values) * factor);
    }
}
