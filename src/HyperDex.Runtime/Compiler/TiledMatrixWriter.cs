using System.Buffers.Binary;
using System.Runtime.InteropServices;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Writes a matrix into a stream in the image layout of <see cref="WeightTiles"/>, one row at a time: rows are
/// gathered into a tile buffer, interleaved group by group, and the tile is written once its rows are in (the last
/// one zero-padded by <see cref="Complete"/>).
/// </summary>
public sealed class TiledMatrixWriter
{
    private readonly string _name;
    private readonly HdxDtype _dtype;
    private readonly int _cols;
    private readonly Stream _stream;
    private readonly byte[] _tile;
    private readonly sbyte[] _quantized = new sbyte[WeightTiles.Q8BlockSize];
    private byte[]? _converted;
    private int _rowInTile;

    public TiledMatrixWriter(string name, HdxDtype dtype, int cols, Stream stream)
    {
        _name = name;
        _dtype = dtype;
        _cols = cols;
        _stream = stream;
        _tile = new byte[WeightTiles.TileBytes(dtype, cols)];
    }

    /// <summary>Adds a row of raw little-endian F32/F16/BF16 elements (the image dtype; cols of them).</summary>
    public void AddRow(ReadOnlySpan<byte> elements)
    {
        if (_dtype == HdxDtype.Q8)
        {
            throw new InvalidOperationException("Q8 rows are added as fp32 values, to be quantized");
        }

        if (!ElementConversion.AllFinite(elements, _dtype))
        {
            // fp16's Inf is usually a weight beyond ±65504 that the fp16 checkpoint could not hold; NaN is damage.
            throw _dtype == HdxDtype.F16 && !HasHalfNaN(MemoryMarshal.Cast<byte, ushort>(elements)) ? OutOfRange() : ElementConversion.NotFinite(_name);
        }

        int columns = WeightTiles.GroupColumns(_dtype);
        int rowBytes = WeightTiles.RowValueBytes(_dtype);
        int elementSize = rowBytes / columns;
        for (int group = 0; group * columns < _cols; group++)
        {
            int start = group * columns * elementSize;
            int length = Math.Min(rowBytes, elements.Length - start);
            elements.Slice(start, length).CopyTo(_tile.AsSpan((int)WeightTiles.RowChunkOffset(_dtype, _cols, _rowInTile, group), length));
        }

        NextRow();
    }

    /// <summary>
    /// Adds a row of fp32 values (cols of them): quantized per block of 32 for Q8, else converted to the matrix dtype
    /// (rounded to nearest even, as the checkpoint converter does).
    /// </summary>
    public void AddRow(ReadOnlySpan<float> values)
    {
        if (_dtype != HdxDtype.Q8)
        {
            _converted ??= new byte[_cols * SafetensorsDtypes.ElementSize(_dtype)];
            ElementConversion.FromSingle(values, _dtype, _converted);
            AddRow(_converted);
            return;
        }

        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                // The int8 compile quantizes from the fp16 checkpoint, where a weight beyond ±65504 became Inf.
                throw float.IsNaN(value) ? ElementConversion.NotFinite(_name) : OutOfRange();
            }
        }

        for (int block = 0; block < _cols / WeightTiles.Q8BlockSize; block++)
        {
            float scale = Q8Blocks.Quantize(values.Slice(block * WeightTiles.Q8BlockSize, WeightTiles.Q8BlockSize), _quantized);
            int group = block / WeightTiles.Q8BlocksPerGroup;
            int inGroup = block % WeightTiles.Q8BlocksPerGroup;
            int valueOffset = (int)WeightTiles.RowChunkOffset(HdxDtype.Q8, _cols, _rowInTile, group) + inGroup * WeightTiles.Q8BlockSize;
            MemoryMarshal.AsBytes(_quantized.AsSpan()).CopyTo(_tile.AsSpan(valueOffset));
            BinaryPrimitives.WriteSingleLittleEndian(_tile.AsSpan((int)WeightTiles.Q8ScaleOffset(_cols, _rowInTile, group) + inGroup * sizeof(float)), scale);
        }

        NextRow();
    }

    /// <summary>Writes the last, partly filled tile with zero rows.</summary>
    public void Complete()
    {
        if (_rowInTile > 0)
        {
            _stream.Write(_tile);
            _rowInTile = 0;
        }
    }

    private void NextRow()
    {
        if (++_rowInTile == WeightTiles.TileRows)
        {
            _stream.Write(_tile);
            Array.Clear(_tile);
            _rowInTile = 0;
        }
    }

    /// <summary>The engine widens F16 without Inf/NaN handling, so a value that overflowed fp16 must stop the compile.</summary>
    private static bool HasHalfNaN(ReadOnlySpan<ushort> halves)
    {
        foreach (ushort half in halves)
        {
            if ((half & 0x7C00) == 0x7C00 && (half & 0x03FF) != 0)
            {
                return true;
            }
        }

        return false;
    }

    private HdxException OutOfRange() => new("WeightOutOfRange", HdxErrorKind.InvalidData,
        $"tensor '{_name}' holds a value beyond the fp16 range (±65504)", _name,
        "Compile with -Dtype bf16 or -Dtype fp32, whose range holds these weights.");
}
