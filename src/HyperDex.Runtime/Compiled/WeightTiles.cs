namespace HyperDex.Runtime.Compiled;

/// <summary>
/// How a matrix sits in a parameter image (format 2): row-interleaved tiles, so a decode step reads every matrix as
/// one sequential stream. Rows are grouped into tiles of <see cref="TileRows"/>; a tile is a run of groups, and a
/// group holds, for each of the tile's rows in turn, the next <see cref="GroupColumns"/> values (64 bytes for
/// F32/F16/BF16, 128 int8 for Q8). A Q8 group ends with the tile rows' block scales, fp32 [row][4] (one per 32
/// values, like llama.cpp's Q8_0), so every group is a whole number of 64-byte lines. Rows and columns are padded
/// with zeros (zero scales) to whole tiles and groups; tensors keep their logical shape in the index.
/// </summary>
public static class WeightTiles
{
    public const int TileRows = 4;

    /// <summary>Values per Q8 block (one fp32 scale each).</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Columns per group: 64 bytes of one row (Q8: 128 values, four blocks).</summary>
    public static int GroupColumns(HdxDtype dtype) => dtype switch
    {
        HdxDtype.F32 => 16,
        HdxDtype.F16 or HdxDtype.BF16 => 32,
        HdxDtype.Q8 => 128,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Bytes of one row's values in a group (Q8: without its scales).</summary>
    public static int RowValueBytes(HdxDtype dtype) => dtype == HdxDtype.Q8 ? 128 : 64;

    /// <summary>Q8 blocks per row in a group.</summary>
    public const int Q8BlocksPerGroup = 4;

    /// <summary>Bytes of one group: values of every tile row, then (Q8) their scales.</summary>
    public static int GroupBytes(HdxDtype dtype) =>
        TileRows * RowValueBytes(dtype) + (dtype == HdxDtype.Q8 ? TileRows * Q8BlocksPerGroup * sizeof(float) : 0);

    public static int Tiles(int rows) => (rows + TileRows - 1) / TileRows;

    public static int Groups(HdxDtype dtype, int cols) => (cols + GroupColumns(dtype) - 1) / GroupColumns(dtype);

    /// <summary>Columns padded to whole groups.</summary>
    public static int PaddedColumns(HdxDtype dtype, int cols) => Groups(dtype, cols) * GroupColumns(dtype);

    public static long TileBytes(HdxDtype dtype, int cols) => (long)Groups(dtype, cols) * GroupBytes(dtype);

    /// <summary>Bytes of a [rows, cols] matrix in an image.</summary>
    public static long MatrixBytes(HdxDtype dtype, int rows, int cols) => Tiles(rows) * TileBytes(dtype, cols);

    /// <summary>Byte offset of row <paramref name="row"/>'s values in group <paramref name="group"/>.</summary>
    public static long RowChunkOffset(HdxDtype dtype, int cols, int row, int group) =>
        (row / TileRows) * TileBytes(dtype, cols) + (long)group * GroupBytes(dtype) + (row % TileRows) * RowValueBytes(dtype);

    /// <summary>Byte offset of the first of row <paramref name="row"/>'s four Q8 scales in group <paramref name="group"/>.</summary>
    public static long Q8ScaleOffset(int cols, int row, int group) =>
        (row / TileRows) * TileBytes(HdxDtype.Q8, cols) + (long)group * GroupBytes(HdxDtype.Q8)
        + TileRows * RowValueBytes(HdxDtype.Q8) + (row % TileRows) * Q8BlocksPerGroup * sizeof(float);
}
