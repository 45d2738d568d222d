using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Writes one canonical tensor of ckpt/ from its checkpoint tensor, a chunk at a time: raw bytes where the dtype is
/// already the target and nothing changes the values, else converted through fp32. It applies the descriptor's
/// <see cref="TensorTransform"/> on the way: the source viewed as [rows, columns]
/// (1-D as [n, 1]; a 3-D fused expert block as [experts · rows, columns]), transposed when asked (Conv1D), then the
/// listed row runs in order, then the constant added. Row runs stream a chunk at a time; only a transpose reads the
/// whole source tensor into memory (GPT-2's Conv1D matrices, a few tens of MB at most).
/// </summary>
internal static class TensorTransforms
{
    private const int ChunkElements = 1 << 16;

    /// <param name="advanced">Called with the elements written after every chunk (progress).</param>
    public static void Write(SafetensorsFile file, SafetensorsTensor tensor, ExpectedTensor expected, HdxDtype dtype, Stream stream,
        Action<int> advanced, CancellationToken cancellation)
    {
        var transform = expected.Transform;
        long sourceRows = tensor.Shape.Count == 1 ? tensor.ElementCount : tensor.Rows;
        long sourceColumns = tensor.Shape.Count == 1 ? 1 : tensor.Columns;
        long columns = transform.Transpose ? sourceRows : sourceColumns;
        long rows = transform.Transpose ? sourceColumns : sourceRows;
        var runs = transform.Rows ?? [new RowRange(0, rows)];
        if (runs.Any(r => r.Start < 0 || r.Count < 0 || r.Start + r.Count > rows) || runs.Sum(r => r.Count) * columns != expected.ElementCount)
        {
            throw new InvalidOperationException($"the transform of '{expected.Canonical}' does not fit its source '{expected.Source}' {tensor.ShapeText}");
        }

        float[]? transposed = transform.Transpose ? Transposed(file, tensor, sourceRows, sourceColumns, cancellation) : null;
        bool raw = transposed is null && transform.AddConstant == 0 && tensor.Dtype == dtype;
        int size = SafetensorsDtypes.ElementSize(dtype);
        var floats = new float[ChunkElements];
        var bytes = raw ? [] : new byte[ChunkElements * size];
        foreach (var run in runs)
        {
            long first = run.Start * columns;
            long count = run.Count * columns;
            for (long done = 0; done < count; done += ChunkElements)
            {
                cancellation.ThrowIfCancellationRequested();
                var chunk = floats.AsSpan(0, (int)Math.Min(ChunkElements, count - done));
                if (raw)
                {
                    stream.Write(file.RawElements(tensor, first + done, chunk.Length));
                }
                else
                {
                    // The values through fp32: from the transposed copy or the file, plus the constant, to the target dtype.
                    if (transposed is not null)
                    {
                        transposed.AsSpan((int)(first + done), chunk.Length).CopyTo(chunk);
                    }
                    else
                    {
                        file.ReadSingles(tensor, first + done, chunk);
                    }

                    if (transform.AddConstant != 0)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(chunk, transform.AddConstant, chunk);
                    }

                    ElementConversion.FromSingle(chunk, dtype, bytes.AsSpan(0, chunk.Length * size));
                    stream.Write(bytes, 0, chunk.Length * size);
                }

                advanced(chunk.Length);
            }
        }
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
