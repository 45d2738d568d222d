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

    /// <summary>
    /// Writes param/N/device{d}.bin and .json for every device d into <paramref name="paramFolder"/> (= param/N or its
    /// temp twin) in one pass over the tensors: each canonical tensor is read once and its slices go to every device's
    /// image before the next tensor is read (the images hold their tensors in the same order).
    /// </summary>
    internal static IReadOnlyList<(ParamIndex Index, FileChecksum Image)> Write(ICanonicalTensors tensors, ModelShape shape, HdxDtype dtype, int numDevice,
        string paramFolder, Action<double, string> progress, CancellationToken cancellation)
    {
        var layouts = Enumerable.Range(0, numDevice).Select(d => Layout(shape, dtype, numDevice, d)).ToList();
        var entries = layouts.Select(_ => new List<ParamTensor>()).ToList();
        var images = Enumerable.Range(0, numDevice).Select(d => Path.Combine(paramFolder, $"device{d}.bin")).ToList();
        var streams = new List<ImageStream>();
        try
        {
            images.ForEach(image => streams.Add(new ImageStream(image)));
            long total = Math.Max(1, layouts.Sum(l => l.Sum(t => t.Length)));
            long done = 0;
            for (int i = 0; i < layouts[0].Count; i++)
            {
                for (int d = 0; d < numDevice; d++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    var (tensor, range, sliceShape, tensorDtype, length) = layouts[d][i];
                    var stream = streams[d];
                    long offset = Align(stream.Position);
                    stream.Write(new byte[offset - stream.Position]);
                    if (sliceShape.Length == 2)
                    {
                        WriteMatrix(tensors, tensor, range, tensorDtype, stream, cancellation);
                    }
                    else
                    {
                        WriteSlice(tensors, tensor, range, stream, cancellation);
                    }

                    entries[d].Add(new ParamTensor { Name = tensor.Canonical, Dtype = tensorDtype, Shape = sliceShape, Offset = offset, Length = length });
                    done += length;
                }

                progress((double)done / total, layouts[0][i].Tensor.Canonical);
            }

            foreach (var stream in streams)
            {
                stream.Write(new byte[Align(stream.Position) - stream.Position]);
                stream.Complete();
            }
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }

        var indexes = new List<(ParamIndex, FileChecksum)>();
        for (int d = 0; d < numDevice; d++)
        {
            var index = new ParamIndex { NumDevice = numDevice, Device = d, TotalBytes = streams[d].Position, Tensors = entries[d] };
            CompiledJson.Write(Path.Combine(paramFolder, $"device{d}.json"), index);
            indexes.Add((index, streams[d].Checksum));
        }

        return indexes;
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
    private static void WriteSlice(ICanonicalTensors tensors, ExpectedTensor tensor, (long Start, long Count) range, Stream stream,
        CancellationToken cancellation)
    {
        const int chunk = 1 << 20;
        long first = tensor.SplitAxis < 0 ? 0 : range.Start;
        long count = tensor.SplitAxis < 0 ? tensor.ElementCount : range.Count;
        var dtype = tensors.DtypeOf(tensor.Source);
        for (long done = 0; done < count; done += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            stream.Write(ElementConversion.RequireFinite(tensor.Canonical, dtype, tensors.Read(tensor.Source, first + done, (int)Math.Min(chunk, count - done))));
        }
    }

    /// <summary>
    /// The device's slice of a 2-D tensor (a row range, a column range or all of it) in the tiled layout of
    /// <see cref="WeightTiles"/>, row by row: the converted elements, or quantized to Q8 from them (an int8 compile
    /// quantizes the fp16 values, as it did from the fp16 ckpt/).
    /// </summary>
    private static void WriteMatrix(ICanonicalTensors tensors, ExpectedTensor tensor, (long Start, long Count) range,
        HdxDtype dtype, Stream stream, CancellationToken cancellation)
    {
        long sourceRows = tensor.Shape[0];
        long sourceColumns = tensor.Shape[1];
        var (firstRow, rows) = tensor.SplitAxis == 0 ? range : (0L, sourceRows);
        var (firstColumn, columns) = tensor.SplitAxis == 1 ? range : (0L, sourceColumns);
        var sourceDtype = tensors.DtypeOf(tensor.Source);
        var writer = new TiledMatrixWriter(tensor.Canonical, dtype, (int)columns, stream);
        var values = dtype == HdxDtype.Q8 ? new float[columns] : [];
        for (long r = firstRow; r < firstRow + rows; r++)
        {
            if ((r & 1023) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }

            var elements = tensors.Read(tensor.Source, (r * sourceColumns) + firstColumn, (int)columns);
            if (dtype == HdxDtype.Q8)
            {
                ElementConversion.ToSingle(elements, sourceDtype, values);
                writer.AddRow(values);
            }
            else
            {
                writer.AddRow(elements);
            }
        }

        writer.Complete();
    }

    public static long Align(long offset) =>
        (offset + CompiledLayout.TensorAlignment - 1) / CompiledLayout.TensorAlignment * CompiledLayout.TensorAlignment;
}
