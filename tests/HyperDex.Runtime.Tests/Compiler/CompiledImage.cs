using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>
/// Reads tensors back out of a compiled device image through its ParamIndex (F32 images only). Matrix positions are
/// worked out here from the format rather than taken from the product: tiles of 4 rows, each a run of 64-byte row
/// chunks, row by row within a group.
/// </summary>
internal sealed class CompiledImage
{
    private readonly byte[] _image;

    public CompiledImage(string model, int numDevice, int device)
    {
        Index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(model, numDevice, device));
        _image = File.ReadAllBytes(CompiledLayout.ParamImage(model, numDevice, device));
    }

    public ParamIndex Index { get; }

    public ParamTensor Tensor(string name) => Index.Tensors.Single(t => t.Name == name);

    public float[] Floats(string name)
    {
        var tensor = Tensor(name);
        if (tensor.Dtype != HdxDtype.F32)
        {
            throw new NotSupportedException("F32 images only");
        }

        if (tensor.Shape.Count == 1)
        {
            var vector = new float[tensor.Shape[0]];
            Buffer.BlockCopy(_image, (int)tensor.Offset, vector, 0, vector.Length * 4);
            return vector;
        }

        int rows = tensor.Shape[0], cols = tensor.Shape[1];
        var values = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                values[(r * cols) + c] = BitConverter.ToSingle(_image, (int)ElementOffset(tensor, r, c, 4));
            }
        }

        return values;
    }

    /// <summary>Byte position of element (r, c) of an F32/F16/BF16 matrix in its image.</summary>
    public static long ElementOffset(ParamTensor tensor, int r, int c, int elementSize)
    {
        int groupColumns = 64 / elementSize;
        int groups = (tensor.Shape[1] + groupColumns - 1) / groupColumns;
        return tensor.Offset + (r / 4 * groups * 256L) + (c / groupColumns * 256L) + (r % 4 * 64) + (c % groupColumns * elementSize);
    }

    /// <summary>Concatenates the devices' row slices ([rows_d, cols] each) back into one matrix.</summary>
    public static float[] JoinRows(IEnumerable<float[]> slices) => slices.SelectMany(s => s).ToArray();

    /// <summary>Joins column slices ([rows, cols_d] each) back into one [rows, Σcols_d] matrix.</summary>
    public static float[] JoinColumns(IReadOnlyList<float[]> slices, int rows)
    {
        var widths = slices.Select(s => s.Length / rows).ToArray();
        int total = widths.Sum();
        var result = new float[rows * total];
        for (int r = 0; r < rows; r++)
        {
            int column = 0;
            for (int d = 0; d < slices.Count; d++)
            {
                Array.Copy(slices[d], r * widths[d], result, (r * total) + column, widths[d]);
                column += widths[d];
            }
        }

        return result;
    }
}
