using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Widens one weight row of any image dtype to fp32 so every kernel accumulates in fp32. F32 rows are used in place
/// (no copy); F16 goes through TensorPrimitives (F16C/AVX-512 inside); BF16 is a 16-bit shift, vectorised with
/// AVX-512 or AVX2 where present; Q8 multiplies each block of 32 int8 by its fp32 scale.
/// </summary>
internal static unsafe class WeightRows
{
    /// <summary>Row <paramref name="row"/> of <paramref name="weight"/> as fp32, in place or in <paramref name="scratch"/>.</summary>
    public static ReadOnlySpan<float> Get(WeightTensor weight, int row, Span<float> scratch)
    {
        byte* source = weight.Row(row);
        int cols = weight.Cols;
        switch (weight.Dtype)
        {
            case HdxDtype.F32:
                return new ReadOnlySpan<float>(source, cols);
            case HdxDtype.F16:
                HalfToSingle((ushort*)source, scratch[..cols]);
                return scratch[..cols];
            case HdxDtype.BF16:
                BFloat16ToSingle((ushort*)source, scratch[..cols]);
                return scratch[..cols];
            case HdxDtype.Q8:
                Q8ToSingle(source, scratch[..cols]);
                return scratch[..cols];
            default:
                throw new InvalidOperationException($"unsupported weight dtype {weight.Dtype}");
        }
    }

    /// <summary>Columns [col, col + destination.Length) of row <paramref name="row"/> as fp32 (for Q8, col is a multiple of 32).</summary>
    public static void Segment(WeightTensor weight, int row, int col, Span<float> destination)
    {
        byte* source = weight.Row(row);
        switch (weight.Dtype)
        {
            case HdxDtype.F32:
                new ReadOnlySpan<float>((float*)source + col, destination.Length).CopyTo(destination);
                break;
            case HdxDtype.F16:
                HalfToSingle((ushort*)source + col, destination);
                break;
            case HdxDtype.BF16:
                BFloat16ToSingle((ushort*)source + col, destination);
                break;
            case HdxDtype.Q8:
                Q8ToSingle(source + col / 32 * 36, destination);
                break;
            default:
                throw new InvalidOperationException($"unsupported weight dtype {weight.Dtype}");
        }
    }

    public static void BFloat16ToSingle(ushort* source, Span<float> destination)
    {
        int n = destination.Length;
        int i = 0;
        fixed (float* d = destination)
        {
            if (Avx512F.IsSupported)
            {
                for (; i + 16 <= n; i += 16)
                {
                    Vector512<uint> wide = Avx512F.ConvertToVector512UInt32(Avx.LoadVector256((short*)source + i).AsUInt16());
                    Avx512F.Store(d + i, Avx512F.ShiftLeftLogical(wide, 16).AsSingle());
                }
            }
            else if (Avx2.IsSupported)
            {
                for (; i + 8 <= n; i += 8)
                {
                    Vector256<int> wide = Avx2.ConvertToVector256Int32(Sse2.LoadVector128((ushort*)source + i));
                    Avx.Store(d + i, Avx2.ShiftLeftLogical(wide, 16).AsSingle());
                }
            }

            for (; i < n; i++)
            {
                d[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
            }
        }
    }

    /// <summary>
    /// fp16 → fp32. With AVX-512: place exponent and mantissa in a float's low exponent bits and multiply by 2^112
    /// (rebiases normals and turns subnormals right), force the exponent of Inf/NaN, then restore the sign.
    /// </summary>
    public static void HalfToSingle(ushort* source, Span<float> destination)
    {
        int n = destination.Length;
        int i = 0;
        fixed (float* d = destination)
        {
            if (Avx512F.IsSupported)
            {
                var signMask = Vector512.Create(0x8000u);
                var valueMask = Vector512.Create(0x7FFFu);
                var infinity = Vector512.Create(0x7C00u);
                var exponentOnes = Vector512.Create(0x7F800000u);
                var rebias = Vector512.Create(5.192297e+33f); // 2^112
                for (; i + 16 <= n; i += 16)
                {
                    Vector512<uint> half = Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(source + i));
                    Vector512<uint> value = half & valueMask;
                    Vector512<uint> bits = Avx512F.ShiftLeftLogical(value, 13);
                    Vector512<float> scaled = bits.AsSingle() * rebias;
                    Vector512<float> special = (bits | exponentOnes).AsSingle();
                    Vector512<float> magnitude = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(value, infinity).AsSingle(), special, scaled);
                    Avx512F.Store(d + i, (magnitude.AsUInt32() | Avx512F.ShiftLeftLogical(half & signMask, 16)).AsSingle());
                }
            }

            if (i < n)
            {
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source + i, n - i), destination[i..]);
            }
        }
    }

    private static void Q8ToSingle(byte* source, Span<float> destination)
    {
        for (int block = 0; block < destination.Length / 32; block++)
        {
            byte* b = source + block * 36;
            float scale = Unsafe.ReadUnaligned<float>(b);
            var values = new ReadOnlySpan<sbyte>(b + 4, 32);
            Span<float> target = destination.Slice(block * 32, 32);
            for (int j = 0; j < 32; j++)
            {
                target[j] = values[j] * scale;
            }
        }
    }
}
