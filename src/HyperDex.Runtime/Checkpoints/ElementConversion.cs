using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>Little-endian float element conversion between F32, F16 and BF16 through float.</summary>
public static class ElementConversion
{
    public static void ToSingle(ReadOnlySpan<byte> source, HdxDtype dtype, Span<float> destination)
    {
        switch (dtype)
        {
            case HdxDtype.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case HdxDtype.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case HdxDtype.BF16:
                WidenBFloat16(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a float element type");
        }
    }

    /// <summary>bf16 → fp32 is the top half of the fp32 bits: widened a vector at a time (the compile of a bf16 checkpoint reads every weight through it).</summary>
    private static void WidenBFloat16(ReadOnlySpan<ushort> bits, Span<float> destination)
    {
        var words = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<ushort>.Count <= bits.Length; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(bits.Slice(i)), out Vector<uint> low, out Vector<uint> high);
                Vector.ShiftLeft(low, 16).CopyTo(words.Slice(i));
                Vector.ShiftLeft(high, 16).CopyTo(words.Slice(i + Vector<uint>.Count));
            }
        }

        for (; i < bits.Length; i++)
        {
            words[i] = (uint)bits[i] << 16;
        }
    }

    public static void FromSingle(ReadOnlySpan<float> source, HdxDtype dtype, Span<byte> destination)
    {
        switch (dtype)
        {
            case HdxDtype.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case HdxDtype.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case HdxDtype.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(destination);
                for (int i = 0; i < source.Length; i++)
                {
                    bits[i] = ToBFloat16(source[i]);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a float element type");
        }
    }

    /// <summary>
    /// Whether every F32/F16/BF16 element is finite (no NaN or Inf: exponent bits all ones). Vectorised, since the
    /// compiler checks every weight it writes: a NaN weight would otherwise compile and generate empty text.
    /// </summary>
    public static bool AllFinite(ReadOnlySpan<byte> elements, HdxDtype dtype) => dtype switch
    {
        HdxDtype.F32 => NoneHasAllBits(MemoryMarshal.Cast<byte, uint>(elements), 0x7F80_0000u),
        HdxDtype.F16 => NoneHasAllBits(MemoryMarshal.Cast<byte, ushort>(elements), (ushort)0x7C00),
        HdxDtype.BF16 => NoneHasAllBits(MemoryMarshal.Cast<byte, ushort>(elements), (ushort)0x7F80),
        _ => true,
    };

    /// <summary>
    /// Passes <paramref name="elements"/> through when all are finite, else stops with <c>WeightNotFinite</c> naming
    /// the tensor (for the compiler's plain-vector writes).
    /// </summary>
    public static ReadOnlySpan<byte> RequireFinite(string tensor, HdxDtype dtype, ReadOnlySpan<byte> elements) =>
        AllFinite(elements, dtype) ? elements : throw NotFinite(tensor);

    public static Diagnostics.HdxException NotFinite(string tensor) => new("WeightNotFinite", Diagnostics.HdxErrorKind.InvalidData,
        $"tensor '{tensor}' holds NaN or infinite weights; a model compiled from it would generate garbage", tensor,
        "Use an undamaged checkpoint (check its training run or download it again).");

    private static bool NoneHasAllBits<T>(ReadOnlySpan<T> values, T mask)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<T>.Count)
        {
            var masks = new Vector<T>(mask);
            var vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
            foreach (var vector in vectors)
            {
                if (Vector.EqualsAny(vector & masks, masks))
                {
                    return false;
                }
            }

            i = vectors.Length * Vector<T>.Count;
        }

        for (; i < values.Length; i++)
        {
            if ((values[i] & mask) == mask)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Round to nearest even, as torch does; NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
