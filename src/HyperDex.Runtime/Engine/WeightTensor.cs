using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// A tensor inside a memory-mapped parameter image: a [Rows, Cols] matrix in the row-interleaved tiles of
/// <see cref="WeightTiles"/>, or a plain F32 vector (Rows = 1). The image stays mapped for the engine's lifetime, so
/// the pointer is valid as long as the owning <see cref="ParamImage"/>.
/// </summary>
internal sealed unsafe class WeightTensor
{
    public WeightTensor(string name, HdxDtype dtype, int rows, int cols, byte* data, long length, bool isMatrix = true)
    {
        Name = name;
        Dtype = dtype;
        Rows = rows;
        Cols = cols;
        Data = data;
        Length = length;
        IsMatrix = isMatrix;
        if (isMatrix)
        {
            Groups = WeightTiles.Groups(dtype, cols);
            PaddedCols = WeightTiles.PaddedColumns(dtype, cols);
            TileBytes = WeightTiles.TileBytes(dtype, cols);
        }
    }

    public string Name { get; }

    public HdxDtype Dtype { get; }

    public int Rows { get; }

    public int Cols { get; }

    public byte* Data { get; }

    public long Length { get; }

    /// <summary>False for a 1-D tensor, stored plain.</summary>
    public bool IsMatrix { get; }

    /// <summary>Groups per tile (<see cref="WeightTiles.GroupColumns"/> columns each).</summary>
    public int Groups { get; }

    /// <summary>Columns rounded up to whole groups: the length of a widened row.</summary>
    public int PaddedCols { get; }

    public long TileBytes { get; }

    /// <summary>Rows rounded up to whole tiles.</summary>
    public int PaddedRows => WeightTiles.Tiles(Rows) * WeightTiles.TileRows;

    /// <summary>The tile holding rows [4·tile, 4·tile + 4).</summary>
    public byte* Tile(int tile) => Data + tile * TileBytes;

    /// <summary>Bytes of a tensor in an image: tiled for matrices, plain F32 for vectors.</summary>
    public static long ExpectedLength(HdxDtype dtype, IReadOnlyList<int> shape) => shape.Count == 2
        ? WeightTiles.MatrixBytes(dtype, shape[0], shape[1])
        : dtype == HdxDtype.F32 ? shape[0] * 4L : -1;

    /// <summary>A fp32 vector's values (norm weights and biases are always plain fp32).</summary>
    public ReadOnlySpan<float> AsFloats()
    {
        if (Dtype != HdxDtype.F32 || IsMatrix)
        {
            throw new InvalidOperationException($"{Name} is not a plain F32 vector");
        }

        return new ReadOnlySpan<float>(Data, Cols);
    }
}
