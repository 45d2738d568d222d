using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The structural check of a parameter index against its image's size, in checked 64-bit arithmetic: an index is
/// untrusted input, and a negative or overflowing offset would otherwise point the engine outside the mapping.
/// </summary>
internal static class ParamIndexBounds
{
    /// <summary>Null when every tensor lies inside an image of <paramref name="imageBytes"/> bytes; else what is wrong.</summary>
    public static string? Problem(ParamIndex index, long imageBytes)
    {
        if (index.Tensors is null || index.Tensors.Count == 0)
        {
            return "the index lists no tensors";
        }

        if (index.TotalBytes <= 0 || index.TotalBytes > imageBytes)
        {
            return $"the image holds {imageBytes} bytes but its index declares {index.TotalBytes}";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in index.Tensors)
        {
            if (tensor?.Name is null || !names.Add(tensor.Name))
            {
                return "a tensor has no name or a name listed twice";
            }

            if (TensorProblem(tensor, index.TotalBytes) is string problem)
            {
                return $"tensor '{tensor.Name}' {problem}";
            }
        }

        return null;
    }

    private static string? TensorProblem(ParamTensor tensor, long totalBytes)
    {
        if (!Enum.IsDefined(tensor.Dtype) || tensor.Shape is null || tensor.Shape.Count is < 1 or > 2 || tensor.Shape.Any(d => d <= 0))
        {
            return "has an unknown dtype or an invalid shape";
        }

        if (tensor.Shape.Count == 1 ? tensor.Dtype != HdxDtype.F32 : tensor.Dtype == HdxDtype.Q8 && tensor.Shape[1] % WeightTiles.Q8BlockSize != 0)
        {
            return $"cannot be stored as {tensor.Dtype}";
        }

        long? expected = ExpectedLength(tensor.Dtype, tensor.Shape);
        if (expected is null || tensor.Length != expected)
        {
            return $"is {tensor.Length} bytes long; its shape and dtype need {expected?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "more than 2^63"}";
        }

        // Offset + Length <= total, written so that neither a negative value nor an overflow can pass.
        if (tensor.Offset < 0 || tensor.Offset % CompiledLayout.TensorAlignment != 0 || tensor.Offset > totalBytes - tensor.Length)
        {
            return $"at offset {tensor.Offset} does not lie inside the image's {totalBytes} bytes";
        }

        return null;
    }

    /// <summary>Bytes a tensor of this shape and dtype takes in an image (tiled matrix or plain F32 vector); null on overflow.</summary>
    public static long? ExpectedLength(HdxDtype dtype, IReadOnlyList<int> shape)
    {
        try
        {
            checked
            {
                if (shape.Count == 1)
                {
                    return shape[0] * 4L;
                }

                long columns = WeightTiles.GroupColumns(dtype);
                long groups = (shape[1] + columns - 1) / columns;
                long tiles = (shape[0] + (long)WeightTiles.TileRows - 1) / WeightTiles.TileRows;
                return tiles * groups * WeightTiles.GroupBytes(dtype);
            }
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
