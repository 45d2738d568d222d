using System.Runtime.InteropServices;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

public sealed class TiledMatrixWriterTests
{
    [Fact]
    public void PadsRowsAndColumnsToWholeTilesAndGroups()
    {
        // F32 [5, 20]: groups of 16 columns, tiles of 4 rows → 2 tiles × 2 groups × (4 rows × 64 bytes).
        using var stream = new MemoryStream();
        var writer = new TiledMatrixWriter("m", HdxDtype.F32, 20, stream);
        for (int r = 0; r < 5; r++)
        {
            float[] row = Enumerable.Range(0, 20).Select(c => (float)((r * 100) + c + 1)).ToArray();
            writer.AddRow(MemoryMarshal.AsBytes(row.AsSpan()));
        }

        writer.Complete();
        byte[] image = stream.ToArray();
        Assert.Equal(1024, image.Length);
        Assert.Equal(WeightTiles.MatrixBytes(HdxDtype.F32, 5, 20), image.Length);
        Assert.Equal(418f, BitConverter.ToSingle(image, 512 + 256 + 4)); // row 4, column 17: tile 1, group 1, tile row 0, lane 1
        Assert.Equal(220f, BitConverter.ToSingle(image, 256 + (2 * 64) + (3 * 4))); // row 2, column 19: tile 0, group 1, tile row 2, lane 3
        Assert.Equal(0f, BitConverter.ToSingle(image, 256 + (2 * 64) + (4 * 4))); // column 20 is padding
        Assert.All(image.Skip(512 + 64).Take(192), b => Assert.Equal(0, b)); // rows 5..7 of tile 1, group 0
    }

    [Fact]
    public void RefusesHalvesThatOverflowedToInfinity()
    {
        var writer = new TiledMatrixWriter("layers.0.mlp.up", HdxDtype.F16, 32, Stream.Null);
        var row = new Half[32];
        row[7] = Half.PositiveInfinity;
        var error = Assert.Throws<HdxException>(() => writer.AddRow(MemoryMarshal.AsBytes(row.AsSpan())));
        Assert.Equal("WeightOutOfRange", error.ErrorId);
        Assert.Contains("layers.0.mlp.up", error.Message);
    }

    [Fact]
    public void RefusesInfinityInAnInt8Row()
    {
        var writer = new TiledMatrixWriter("embed", HdxDtype.Q8, 32, Stream.Null);
        var row = new float[32];
        row[3] = float.NegativeInfinity;
        Assert.Equal("WeightOutOfRange", Assert.Throws<HdxException>(() => writer.AddRow(row)).ErrorId);
    }

    [Fact]
    public void RefusesAnFp32RowBeyondTheFp16Range()
    {
        var writer = new TiledMatrixWriter("lm_head", HdxDtype.F16, 32, Stream.Null);
        var row = new float[32];
        row[9] = 70000f;
        Assert.Equal("WeightOutOfRange", Assert.Throws<HdxException>(() => writer.AddRow(row)).ErrorId);
    }
}
