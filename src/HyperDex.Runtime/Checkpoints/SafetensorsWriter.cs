using System.Text.Json;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>A tensor to be written: its name, element type and shape.</summary>
public sealed record TensorSpec(string Name, HdxDtype Dtype, IReadOnlyList<long> Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (product, dim) => product * dim);

    public long ByteLength => ElementCount * SafetensorsDtypes.ElementSize(Dtype);
}

/// <summary>
/// Writes standard safetensors files (readable by HF's library): tensors contiguous in the given order, the header
/// padded with spaces so the data section starts 64-byte aligned. Data is streamed by a callback per tensor.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<TensorSpec> tensors, Action<TensorSpec, Stream> writeData,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellation = default)
    {
        byte[] header = BuildHeader(tensors, metadata);
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(BitConverter.GetBytes((long)header.Length));
        stream.Write(header);
        foreach (var tensor in tensors)
        {
            cancellation.ThrowIfCancellationRequested();
            long before = stream.Position;
            writeData(tensor, stream);
            if (stream.Position - before != tensor.ByteLength)
            {
                throw new InvalidOperationException($"'{tensor.Name}' wrote {stream.Position - before} bytes, expected {tensor.ByteLength}");
            }
        }
    }

    public static byte[] BuildHeader(IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", SafetensorsDtypes.NameOf(tensor.Dtype));
                json.WriteStartArray("shape");
                foreach (long dim in tensor.Shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.ByteLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int length = (int)buffer.Length;
        int padded = ((8 + length + CompiledLayout.TensorAlignment - 1) / CompiledLayout.TensorAlignment * CompiledLayout.TensorAlignment) - 8;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    /// <summary>Convenience for small tensors held in memory: float data converted to each tensor's dtype.</summary>
    public static void WriteSingles(string path, IReadOnlyList<(TensorSpec Spec, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var data = tensors.ToDictionary(t => t.Spec.Name, t => t.Data, StringComparer.Ordinal);
        Write(path, tensors.Select(t => t.Spec).ToList(), (spec, stream) =>
        {
            var bytes = new byte[spec.ByteLength];
            ElementConversion.FromSingle(data[spec.Name], spec.Dtype, bytes);
            stream.Write(bytes);
        }, metadata);
    }
}
