using System.Text;

namespace HyperDex.TestTools.Bench;

/// <summary>ggml tensor types this writer emits (values of ggml.h's enum ggml_type).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    BF16 = 30,
}

/// <summary>One tensor of a GGUF file: GGUF dimensions are innermost first (ne0 = a row's length).</summary>
public sealed record GgufTensor(string Name, GgmlType Type, long[] Dims, Action<Stream> WriteData)
{
    public long ByteLength => Dims.Aggregate(1L, (product, dim) => product * dim) * (Type == GgmlType.F32 ? 4 : 2);
}

/// <summary>
/// Writes a GGUF v3 file (ggml's docs/gguf.md): magic, version, counts, metadata key/values, tensor infos, then the
/// tensor data, each tensor starting at a multiple of general.alignment (32) from the start of the data section.
/// Little-endian throughout. Streams the data tensor by tensor, so a model never sits in memory.
/// </summary>
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const int Alignment = 32;
    private readonly List<(string Key, Action<BinaryWriter> WriteValue)> _metadata = new();

    private enum ValueType : uint
    {
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
    }

    public void Add(string key, uint value) => _metadata.Add((key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); }));

    public void Add(string key, float value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Float32); w.Write(value); }));

    public void Add(string key, bool value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Bool); w.Write((byte)(value ? 1 : 0)); }));

    public void Add(string key, string value) => _metadata.Add((key, w => { w.Write((uint)ValueType.String); WriteString(w, value); }));

    public void Add(string key, IReadOnlyList<string> values) => _metadata.Add((key, w =>
    {
        WriteArrayHeader(w, ValueType.String, values.Count);
        foreach (string value in values)
        {
            WriteString(w, value);
        }
    }));

    public void Add(string key, IReadOnlyList<float> values) => _metadata.Add((key, w =>
    {
        WriteArrayHeader(w, ValueType.Float32, values.Count);
        foreach (float value in values)
        {
            w.Write(value);
        }
    }));

    public void Add(string key, IReadOnlyList<int> values) => _metadata.Add((key, w =>
    {
        WriteArrayHeader(w, ValueType.Int32, values.Count);
        foreach (int value in values)
        {
            w.Write(value);
        }
    }));

    /// <summary>Writes the file to a temporary name beside <paramref name="path"/> and renames it when complete.</summary>
    public void Write(string path, IReadOnlyList<GgufTensor> tensors)
    {
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(3u);
            writer.Write((ulong)tensors.Count);
            writer.Write((ulong)_metadata.Count);
            foreach (var (key, writeValue) in _metadata)
            {
                WriteString(writer, key);
                writeValue(writer);
            }

            long offset = 0;
            foreach (var tensor in tensors)
            {
                WriteString(writer, tensor.Name);
                writer.Write((uint)tensor.Dims.Length);
                foreach (long dim in tensor.Dims)
                {
                    writer.Write((ulong)dim);
                }

                writer.Write((uint)tensor.Type);
                writer.Write((ulong)offset);
                offset = Align(offset + tensor.ByteLength);
            }

            writer.Flush();
            Pad(stream);
            long dataStart = stream.Position;
            foreach (var tensor in tensors)
            {
                long before = stream.Position;
                tensor.WriteData(stream);
                if (stream.Position - before != tensor.ByteLength)
                {
                    throw new InvalidOperationException($"{tensor.Name}: wrote {stream.Position - before} bytes, expected {tensor.ByteLength}");
                }

                Pad(stream, dataStart);
            }
        }

        File.Move(temp, path, overwrite: true);
    }

    private static long Align(long value) => (value + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream, long origin = 0)
    {
        long position = stream.Position - origin;
        stream.Write(new byte[Align(position) - position]);
    }

    private static void WriteArrayHeader(BinaryWriter writer, ValueType elementType, int count)
    {
        writer.Write((uint)ValueType.Array);
        writer.Write((uint)elementType);
        writer.Write((ulong)count);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }
}
