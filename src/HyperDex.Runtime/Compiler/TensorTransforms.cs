using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// One canonical tensor read from its checkpoint tensor through the descriptor's <see cref="TensorTransform"/>, as
/// elements in a target dtype: raw bytes where the dtype is already the target and nothing changes the values, else
/// converted through fp32. The source is viewed as [rows, columns] (1-D as [n, 1]; a 3-D fused expert block as
/// [experts · rows, columns]), transposed when asked (Conv1D), then the listed row runs in order, then the constant
/// added. Any element range can be read, so the converter (whole tensor, chunk by chunk) and the streaming compile
/// (a device's rows or columns, row by row) read the same values; only a transpose reads the whole source tensor
/// into memory (GPT-2's Conv1D matrices, a few tens of MB at most).
/// </summary>
internal sealed class TransformedTensor
{
    private readonly SafetensorsFile _file;
    private readonly SafetensorsTensor _tensor;
    private readonly float _add;
    private readonly long _columns;
    private readonly RowRange[] _runs;
    private readonly long[] _runFirstRow;
    private readonly float[]? _transposed;
    private readonly int _size;
    private float[] _floats = [];
    private byte[] _bytes = [];

    public TransformedTensor(SafetensorsFile file, SafetensorsTensor tensor, ExpectedTensor expected, HdxDtype dtype, CancellationToken cancellation)
    {
        _file = file;
        _tensor = tensor;
        Dtype = dtype;
        var transform = expected.Transform;
        long sourceRows = tensor.Shape.Count == 1 ? tensor.ElementCount : tensor.Rows;
        long sourceColumns = tensor.Shape.Count == 1 ? 1 : tensor.Columns;
        _columns = transform.Transpose ? sourceRows : sourceColumns;
        long rows = transform.Transpose ? sourceColumns : sourceRows;
        _runs = (transform.Rows ?? [new RowRange(0, rows)]).ToArray();
        if (_runs.Any(r => r.Start < 0 || r.Count < 0 || r.Start + r.Count > rows) || _runs.Sum(r => r.Count) * _columns != expected.ElementCount)
        {
            throw new InvalidOperationException($"the transform of '{expected.Canonical}' does not fit its source '{expected.Source}' {tensor.ShapeText}");
        }

        _runFirstRow = new long[_runs.Length];
        for (int i = 1; i < _runs.Length; i++)
        {
            _runFirstRow[i] = _runFirstRow[i - 1] + _runs[i - 1].Count;
        }

        _add = transform.AddConstant;
        _transposed = transform.Transpose ? Transposed(file, tensor, sourceRows, sourceColumns, cancellation) : null;
        Raw = _transposed is null && _add == 0 && tensor.Dtype == dtype;
        _size = SafetensorsDtypes.ElementSize(dtype);
        ElementCount = expected.ElementCount;
    }

    /// <summary>The dtype the elements are read in.</summary>
    public HdxDtype Dtype { get; }

    public long ElementCount { get; }

    /// <summary>Whether the elements are the source's bytes as they stand (no conversion, no transform of values).</summary>
    public bool Raw { get; }

    /// <summary>
    /// Elements [start, start + count) of the canonical tensor (flat index) in <see cref="Dtype"/>: a view of the
    /// mapped source when one contiguous raw run holds them, else a buffer of this object reused by the next call.
    /// </summary>
    public ReadOnlySpan<byte> Read(long start, int count)
    {
        if (start < 0 || count < 0 || start + count > ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + count}) are outside the tensor");
        }

        if (count == 0)
        {
            return [];
        }

        var (first, contiguous) = SourceRange(start);
        if (Raw && contiguous >= count)
        {
            return _file.RawElements(_tensor, first, count);
        }

        if (_bytes.Length < count * _size)
        {
            _bytes = new byte[count * _size];
            _floats = Raw ? [] : new float[count];
        }

        for (int done = 0; done < count;)
        {
            (first, contiguous) = SourceRange(start + done);
            int n = (int)Math.Min(count - done, contiguous);
            if (Raw)
            {
                _file.RawElements(_tensor, first, n).CopyTo(_bytes.AsSpan(done * _size));
            }
            else
            {
                var values = _floats.AsSpan(done, n);
                if (_transposed is not null)
                {
                    _transposed.AsSpan((int)first, n).CopyTo(values);
                }
                else
                {
                    _file.ReadSingles(_tensor, first, values);
                }
            }

            done += n;
        }

        if (!Raw)
        {
            var values = _floats.AsSpan(0, count);
            if (_add != 0)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(values, _add, values);
            }

            ElementConversion.FromSingle(values, Dtype, _bytes.AsSpan(0, count * _size));
        }

        return _bytes.AsSpan(0, count * _size);
    }

    /// <summary>Where canonical element <paramref name="start"/> is in the (transposed) source, and how many follow it there contiguously.</summary>
    private (long First, long Contiguous) SourceRange(long start)
    {
        long row = start / _columns;
        long column = start % _columns;
        int run = Array.BinarySearch(_runFirstRow, row);
        run = run >= 0 ? run : ~run - 1;
        while (_runs[run].Count == 0 || row >= _runFirstRow[run] + _runs[run].Count)
        {
            run++; // empty runs share their first row with the next one
        }

        long sourceRow = _runs[run].Start + (row - _runFirstRow[run]);
        long left = (_runFirstRow[run] + _runs[run].Count - row) * _columns - column;
        return ((sourceRow * _columns) + column, left);
    }

    private static float[] Transposed(SafetensorsFile file, SafetensorsTensor tensor, long rows, long columns, CancellationToken cancellation)
    {
        if (rows * columns > Array.MaxLength)
        {
            throw new InvalidOperationException($"'{tensor.Name}' is too large to transpose in memory");
        }

        var source = new float[rows * columns];
        file.ReadSingles(tensor, 0, source);
        cancellation.ThrowIfCancellationRequested();
        var result = new float[rows * columns];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
            {
                result[c * rows + r] = source[r * columns + c];
            }
        }

        return result;
    }
}

/// <summary>Writes one canonical tensor of ckpt/ from its checkpoint tensor, a chunk at a time (<see cref="TransformedTensor"/>).</summary>
internal static class TensorTransforms
{
    private const int ChunkElements = 1 << 16;

    /// <param name="advanced">Called with the elements written after every chunk (progress).</param>
    public static void Write(SafetensorsFile file, SafetensorsTensor tensor, ExpectedTensor expected, HdxDtype dtype, Stream stream,
        Action<int> advanced, CancellationToken cancellation)
    {
        var values = new TransformedTensor(file, tensor, expected, dtype, cancellation);
        for (long done = 0; done < values.ElementCount; done += ChunkElements)
        {
            cancellation.ThrowIfCancellationRequested();
            int count = (int)Math.Min(ChunkElements, values.ElementCount - done);
            stream.Write(values.Read(done, count));
            advanced(count);
        }
    }
}
