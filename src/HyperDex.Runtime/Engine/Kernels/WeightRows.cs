using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// Widens weight rows of any image dtype to fp32, group by group out of their tiles (<see cref="WeightTiles"/>), so
/// every kernel can accumulate in fp32: F32 is copied, F16 and BF16 converted with AVX-512 or AVX2 where present, and
/// Q8 multiplies each block of 32 int8 by its scale.
/// </summary>
internal static unsafe class WeightRows
{
    /// <summary>Row <paramref name="row"/> as fp32, widened into <paramref name="scratch"/> (at least <see cref="WeightTensor.PaddedCols"/> long).</summary>
    public static ReadOnlySpan<float> Get(WeightTensor weight, int row, Span<float> scratch)
    {
        int columns = WeightTiles.GroupColumns(weight.Dtype);
        for (int group = 0; group < weight.Groups; group++)
        {
            Chunk(weight, row, group, scratch.Slice(group * columns, columns));
        }

        return scratch[..weight.Cols];
    }

    /// <summary>The <see cref="WeightTiles.GroupColumns"/> values of row <paramref name="row"/> in group <paramref name="group"/> as fp32.</summary>
    public static void Chunk(WeightTensor weight, int row, int group, Span<float> destination)
    {
        byte* source = weight.Data + WeightTiles.RowChunkOffset(weight.Dtype, weight.Cols, row, group);
        switch (weight.Dtype)
        {
            case HdxDtype.F32:
                new ReadOnlySpan<float>(source, destination.Length).CopyTo(destination);
                break;
            case HdxDtype.F16:
                HalfToSingle((ushort*)source, destination);
                break;
            case HdxDtype.BF16:
                BFloat16ToSingle((ushort*)source, destination);
                break;
            case HdxDtype.Q8:
                float* scales = (float*)(weight.Data + WeightTiles.Q8ScaleOffset(weight.Cols, row, group));
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = ((sbyte*)source)[i] * scales[i / WeightTiles.Q8BlockSize];
                }

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
}
