using System.Text;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Tests.Engine;
using HyperDex.TestTools;
using HyperDex.TestTools.Bench;
using Xunit;

namespace HyperDex.Runtime.Tests.Bench;

/// <summary>
/// The benchmark's GGUF export, read back with an independent reader of the GGUF v3 layout (that llama.cpp loads the
/// file and gives our greedy tokens is checked by the benchmark itself, which has llama.cpp).
/// </summary>
public class GgufExportTests
{
    [Fact]
    public void QAndKRowsArePermutedToInterleavedPairsPerHead()
    {
        // Head dim 8: output row 2i + j of a head takes HF row j * 4 + i.
        long[] expected = { 0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13 };
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(r => GgufExport.PermutedSourceRow(r, 8)));
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void ExportWritesLlamaCppNamesShapesAndPermutedRows(GgmlType type)
    {
        using var temp = new TempFolder();
        var spec = new TinyModelSpec { Layers = 2, Hidden = 64, Heads = 4, KvHeads = 2, Intermediate = 96, Vocab = 300, Dtype = HdxDtype.BF16 };
        TinyModel.Write(temp.Sub("model"), spec);
        string gguf = temp.Sub("model.gguf");
        GgufExport.Write(temp.Sub("model"), gguf, type);

        var file = GgufFile.Read(gguf);
        Assert.Equal("llama", file.Metadata["general.architecture"]);
        Assert.Equal(4u, file.Metadata["llama.attention.head_count"]);
        Assert.Equal(2u, file.Metadata["llama.attention.head_count_kv"]);
        Assert.Equal(300, ((string[])file.Metadata["tokenizer.ggml.tokens"]).Distinct().Count());
        Assert.Equal(2 + (9 * spec.Layers) + 1, file.Tensors.Count); // embedding, 9 per layer, final norm; tied: no output
        Assert.Equal(new long[] { 64, 300 }, file.Tensors["token_embd.weight"].Dims);
        Assert.Equal(0u, file.Tensors["blk.0.attn_norm.weight"].Type); // norms stay F32
        Assert.Equal((uint)type, file.Tensors["blk.1.attn_k.weight"].Type);
        Assert.All(file.Tensors.Values, t => Assert.Equal(0, t.Offset % 32));

        using var checkpoint = SafetensorsFile.Open(Path.Combine(temp.Sub("model"), "model.safetensors"));
        var hf = checkpoint.Get("model.layers.1.self_attn.k_proj.weight");
        var exported = file.Tensors["blk.1.attn_k.weight"];
        var expected = new float[64];
        var expectedBytes = new byte[128];
        for (int row = 0; row < 32; row++)
        {
            checkpoint.ReadSingles(hf, GgufExport.PermutedSourceRow(row, 16) * 64, expected);
            ElementConversion.FromSingle(expected, type == GgmlType.F16 ? HdxDtype.F16 : HdxDtype.BF16, expectedBytes);
            Assert.Equal(expectedBytes, file.Data(exported, row * 128L, 128));
        }
    }

    private sealed record GgufTensorInfo(long[] Dims, uint Type, long Offset);

    private sealed class GgufFile
    {
        private byte[] _bytes = [];
        private long _dataStart;

        public Dictionary<string, object> Metadata { get; } = new();

        public Dictionary<string, GgufTensorInfo> Tensors { get; } = new();

        public byte[] Data(GgufTensorInfo tensor, long offset, int length) =>
            _bytes.AsSpan((int)(_dataStart + tensor.Offset + offset), length).ToArray();

        public static GgufFile Read(string path)
        {
            var file = new GgufFile { _bytes = File.ReadAllBytes(path) };
            using var reader = new BinaryReader(new MemoryStream(file._bytes));
            Assert.Equal("GGUF"u8.ToArray(), reader.ReadBytes(4));
            Assert.Equal(3u, reader.ReadUInt32());
            long tensors = (long)reader.ReadUInt64(), keys = (long)reader.ReadUInt64();
            for (long k = 0; k < keys; k++)
            {
                string key = ReadString(reader);
                file.Metadata[key] = ReadValue(reader, reader.ReadUInt32());
            }

            for (long t = 0; t < tensors; t++)
            {
                string name = ReadString(reader);
                var dims = new long[reader.ReadUInt32()];
                for (int d = 0; d < dims.Length; d++)
                {
                    dims[d] = (long)reader.ReadUInt64();
                }

                file.Tensors[name] = new GgufTensorInfo(dims, reader.ReadUInt32(), (long)reader.ReadUInt64());
            }

            file._dataStart = (reader.BaseStream.Position + 31) / 32 * 32;
            return file;
        }

        private static string ReadString(BinaryReader reader) => Encoding.UTF8.GetString(reader.ReadBytes((int)reader.ReadUInt64()));

        private static object ReadValue(BinaryReader reader, uint type) => type switch
        {
            4 => reader.ReadUInt32(),
            5 => reader.ReadInt32(),
            6 => reader.ReadSingle(),
            7 => reader.ReadByte() != 0,
            8 => ReadString(reader),
            9 => ReadArray(reader),
            _ => throw new InvalidDataException($"unexpected GGUF value type {type}"),
        };

        private static object ReadArray(BinaryReader reader)
        {
            uint type = reader.ReadUInt32();
            var values = new object[(long)reader.ReadUInt64()];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = ReadValue(reader, type);
            }

            return type == 8 ? values.Cast<string>().ToArray() : values;
        }
    }
}
