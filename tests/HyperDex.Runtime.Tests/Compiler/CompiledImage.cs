using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>Reads tensors back out of a compiled device image through its ParamIndex (F32 images only).</summary>
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

        var values = new float[tensor.Length / 4];
        Buffer.BlockCopy(_image, (int)tensor.Offset, values, 0, (int)tensor.Length);
        return values;
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
