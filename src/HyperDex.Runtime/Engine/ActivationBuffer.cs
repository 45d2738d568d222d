namespace HyperDex.Runtime.Engine;

/// <summary>
/// A named activation buffer of rows × Width floats. It grows (only) when a step has more rows than ever before, so
/// prefill may allocate once and decode never does.
/// </summary>
internal sealed class ActivationBuffer
{
    public ActivationBuffer(string name, int width, int rows = 1)
    {
        Name = name;
        Width = width;
        Data = new float[width * Math.Max(1, rows)];
    }

    public string Name { get; }

    public int Width { get; }

    public float[] Data { get; private set; }

    public int Rows => Data.Length / Width;

    public void EnsureRows(int rows)
    {
        if (rows > Rows)
        {
            Data = new float[checked(rows * Width)];
        }
    }

    public Span<float> Row(int row) => Data.AsSpan(row * Width, Width);
}
