using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// A tensor inside a memory-mapped parameter image: [Rows, Cols] row-major (a vector has Rows = 1). The image stays
/// mapped for the engine's lifetime, so the pointer is valid as long as the owning <see cref="ParamImage"/>.
/// </summary>
internal sealed unsafe class WeightTensor
{
    public WeightTensor(string name, HdxDtype dtype, int rows, int cols, byte* data, long length)
    {
        Name = name;
        Dtype = dtype;
        Rows = rows;
        Cols = cols;
        Data = data;
        Length = length;
    }

    public string Name { get; }

    public HdxDtype Dtype { get; }

    public int Rows { get; }

    public int Cols { get; }

    public byte* Data { get; }

    public long Length { get; }

    /// <summary>Bytes of one row in the image.</summary>
    public long RowBytes => Dtype switch
    {
        HdxDtype.F32 => Cols * 4L,
        HdxDtype.F16 or HdxDtype.BF16 => Cols * 2L,
        HdxDtype.Q8 => Cols / 32 * 36L,
        _ => throw new InvalidOperationException(),
    };

    public static long ExpectedLength(HdxDtype dtype, int rows, int cols) => dtype switch
    {
        HdxDtype.F32 => rows * (long)cols * 4,
        HdxDtype.F16 or HdxDtype.BF16 => rows * (long)cols * 2,
        HdxDtype.Q8 => rows * (long)(cols / 32) * 36,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>A fp32 tensor's values (norm weights and biases are always fp32).</summary>
    public ReadOnlySpan<float> AsFloats()
    {
        if (Dtype != HdxDtype.F32)
        {
            throw new InvalidOperationException($"{Name} is {Dtype}, not F32");
        }

        return new ReadOnlySpan<float>(Data, checked(Rows * Cols));
    }

    public byte* Row(int row) => Data + row * RowBytes;
}
