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
                var bits = MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < bits.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a float element type");
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
