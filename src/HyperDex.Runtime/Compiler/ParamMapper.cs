using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 3: lays out one device's share of the converted checkpoint as a single image, every tensor at a 64-byte
/// aligned offset, matrices in the row-interleaved tiles of <see cref="WeightTiles"/>: column-parallel tensors (q/k/v, gate/up, lm_head) keep their rows of the device's slice,
/// row-parallel ones (o, down) the matching input columns, the rest is replicated. A tied lm_head is cut from embed;
/// on one device it would be all of embed, so the program reads embed itself (<see cref="HeadTensor"/>).
/// </summary>
public static class ParamMapper
{
    /// <summary>
    /// The tensors of a device image in image order, each with <see cref="ExpectedTensor.Source"/> naming the converted
    /// checkpoint tensor it is cut from (a tied lm_head comes last, from embed; none on one device).
    /// </summary>
    public static IReadOnlyList<ExpectedTensor> ImageTensors(ModelShape shape, int numDevice)
    {
        var tensors = shape.Tensors.Where(t => t.Canonical != "lm_head").Select(t => t with { Source = t.Canonical }).ToList();
        if (HeadTensor(shape, numDevice) != "lm_head")
        {
            return tensors;
        }

        var head = shape.Tensors.Where(t => t.Canonical == "lm_head").Select(t => t with { Source = t.Canonical }).FirstOrDefault()
            ?? new ExpectedTensor("lm_head", "embed", new long[] { shape.Vocab, shape.Hidden }, 0, "vocab", TensorRole.Matrix, -1);
        tensors.Add(head);
        return tensors;
    }

    /// <summary>
    /// A tensor's dtype in a device image: norms and biases F32; for an int8 compile, matrices and the embedding whose
    /// (sliced) input dimension is a multiple of 32 become Q8 (a tied head reads the embedding, so it is decode's
    /// largest matrix) and the rest (odd widths) stay F16.
    /// </summary>
    public static HdxDtype ImageDtype(TensorRole role, HdxDtype target, long columns) => target switch
    {
        HdxDtype.Q8 when role is TensorRole.Matrix or TensorRole.Embedding && Q8Blocks.Fits(columns) => HdxDtype.Q8,
        _ => CheckpointConverter.TensorDtype(role, target),
    };

    /// <summary>The tensor FinalNormLogits reads: embed itself for tied embeddings on one device, else lm_head.</summary>
    public static string HeadTensor(ModelShape shape, int numDevice) => shape.Tied && numDevice == 1 ? "embed" : "lm_head";

    /// <summary>Bytes of one device's image (what the memory check counts).</summary>
    public static long ImageBytes(ModelShape shape, HdxDtype dtype, int numDevice, int device) =>
        Layout(shape, dtype, numDevice, device).Sum(t => Align(t.Length));

    /// <summary>Writes param/N/device{d}.bin and .json into <paramref name="paramFolder"/> (= param/N or its temp twin).</summary>
    public static ParamIndex Write(SafetensorsFile checkpoint, ModelShape shape, HdxDtype dtype, int numDevice, int device,
        string paramFolder, CancellationToken cancellation)
    {
        var layout = Layout(shape, dtype, numDevice, device);
        var entries = new List<ParamTensor>();
        string image = Path.Combine(paramFolder, $"device{device}.bin");
        using (var stream = new FileStream(image, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var (tensor, range, sliceShape, tensorDtype, length) in layout)
            {
                cancellation.ThrowIfCancellationRequested();
                long offset = Align(stream.Position);
                stream.Write(new byte[offset - stream.Position]);
                var source = checkpoint.Get(tensor.Source);
                if (sliceShape.Length == 2)
                {
                    WriteMatrix(checkpoint, tensor, source, range, tensorDtype, stream, cancellation);
                }
                else
                {
                    WriteSlice(checkpoint, source, tensor.SplitAxis, range, stream, cancellation);
                }

                entries.Add(new ParamTensor { Name = tensor.Canonical, Dtype = tensorDtype, Shape = sliceShape, Offset = offset, Length = length });
            }

            stream.Write(new byte[Align(stream.Position) - stream.Position]);
        }

        var index = new ParamIndex { NumDevice = numDevice, Device = device, TotalBytes = new FileInfo(image).Length, Tensors = entries };
        CompiledJson.Write(Path.Combine(paramFolder, $"device{device}.json"), index);
        return index;
    }

    private static List<(ExpectedTensor Tensor, (long Start, long Count) Range, int[] Shape, HdxDtype Dtype, long Length)> Layout(
        ModelShape shape, HdxDtype dtype, int numDevice, int device)
    {
        var layout = new List<(ExpectedTensor, (long, long), int[], HdxDtype, long)>();
        foreach (var tensor in ImageTensors(shape, numDevice))
        {
            var range = tensor.SplitAxis < 0
                ? (0L, tensor.Shape[0])
                : Partition.Range(tensor.SplitDimension!, tensor.Shape[tensor.SplitAxis], shape, numDevice, device);
            int[] sliceShape = tensor.Shape.Select((d, axis) => (int)(axis == tensor.SplitAxis ? range.Item2 : d)).ToArray();
            var tensorDtype = ImageDtype(tensor.Role, dtype, sliceShape[^1]);
            long length = sliceShape.Length == 2
                ? WeightTiles.MatrixBytes(tensorDtype, sliceShape[0], sliceShape[1])
                : sliceShape.Aggregate(1L, (p, d) => p * d) * SafetensorsDtypes.ElementSize(tensorDtype);
            layout.Add((tensor, range, sliceShape, tensorDtype, length));
        }

        return layout;
    }

    /// <summary>A 1-D tensor (or its range): one contiguous run of elements.</summary>
    private static void WriteSlice(SafetensorsFile checkpoint, SafetensorsTensor source, int axis, (long Start, long Count) range,
        Stream stream, CancellationToken cancellation)
    {
        const int chunk = 1 << 20;
        long first = axis < 0 ? 0 : range.Start;
        long count = axis < 0 ? source.ElementCount : range.Count;
        for (long done = 0; done < count; done += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            stream.Write(ElementConversion.RequireFinite(source.Name, source.Dtype, checkpoint.RawElements(source, first + done, (int)Math.Min(chunk, count - done))));
        }
    }

    /// <summary>
    /// The device's slice of a 2-D tensor (a row range, a column range or all of it) in the tiled layout of
    /// <see cref="WeightTiles"/>, row by row: raw elements, or quantized to Q8.
    /// </summary>
    private static void WriteMatrix(SafetensorsFile checkpoint, ExpectedTensor tensor, SafetensorsTensor source, (long Start, long Count) range,
        HdxDtype dtype, Stream stream, CancellationToken cancellation)
    {
        var (firstRow, rows) = tensor.SplitAxis == 0 ? range : (0L, source.Rows);
        var (firstColumn, columns) = tensor.SplitAxis == 1 ? range : (0L, source.Columns);
        var writer = new TiledMatrixWriter(tensor.Canonical, dtype, (int)columns, stream);
        var values = dtype == HdxDtype.Q8 ? new float[columns] : [];
        for (long r = firstRow; r < firstRow + rows; r++)
        {
            if ((r & 1023) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            long start = (r * source.Columns) + firstColumn;
            if (dtype == HdxDtype.Q8)
            {
                checkpoint.ReadSingles(source, start, values);
                writer.AddRow(values);
            }
            else
            {
                writer.AddRow(checkpoint.RawElements(source, start, (int)columns));
            }
        }

        writer.Complete();
    }

    public static long Align(long offset) =>
        (offset + CompiledLayout.TensorAlignment - 1) / CompiledLayout.TensorAlignment * CompiledLayout.TensorAlignment;
}
