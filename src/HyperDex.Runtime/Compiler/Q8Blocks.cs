using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Q8 quantization of one block of <see cref="WeightTiles.Q8BlockSize"/> values: scale = max|x| / 127 and
/// q = round(x / scale), like llama.cpp's Q8_0 (where the scales and values go: <see cref="WeightTiles"/>).
/// </summary>
public static class Q8Blocks
{
    public static bool Fits(long columns) => columns > 0 && columns % WeightTiles.Q8BlockSize == 0;

    /// <summary>Quantizes <paramref name="block"/> into <paramref name="values"/> and returns its scale (0 for an all-zero block).</summary>
    public static float Quantize(ReadOnlySpan<float> block, Span<sbyte> values)
    {
        float max = 0;
        foreach (float value in block)
        {
            max = Math.Max(max, Math.Abs(value));
        }

        float scale = max / 127;
        for (int i = 0; i < block.Length; i++)
        {
            values[i] = scale == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(block[i] / scale), -127, 127);
        }

        return scale;
    }
}
