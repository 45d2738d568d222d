using System.Buffers.Binary;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// The Q8 weight layout (see <see cref="ParamTensor"/>): each row is in/32 blocks of an fp32 scale followed by 32
/// int8 values, scale = max|x| / 127 and q = round(x / scale), like llama.cpp's Q8_0.
/// </summary>
public static class Q8Blocks
{
    public const int BlockSize = 32;
    public const int BlockBytes = 4 + BlockSize;

    public static bool Fits(long columns) => columns > 0 && columns % BlockSize == 0;

    public static long RowBytes(long columns) => columns / BlockSize * BlockBytes;

    /// <summary>Quantizes one row (length a multiple of 32) into <see cref="RowBytes"/> bytes.</summary>
    public static void Quantize(ReadOnlySpan<float> row, Span<byte> destination)
    {
        for (int block = 0; block < row.Length / BlockSize; block++)
        {
            var values = row.Slice(block * BlockSize, BlockSize);
            var target = destination.Slice(block * BlockBytes, BlockBytes);
            float max = 0;
            foreach (float value in values)
            {
                max = Math.Max(max, Math.Abs(value));
            }

            float scale = max / 127;
            BinaryPrimitives.WriteSingleLittleEndian(target, scale);
            for (int i = 0; i < BlockSize; i++)
            {
                target[4 + i] = scale == 0 ? (byte)0 : unchecked((byte)(sbyte)Math.Clamp(MathF.Round(values[i] / scale), -127, 127));
            }
        }
    }
}
