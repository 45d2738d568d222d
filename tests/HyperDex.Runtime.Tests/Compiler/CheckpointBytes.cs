using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>Overwrites bytes of one tensor inside a safetensors file, to plant damaged weights in a test checkpoint.</summary>
internal static class CheckpointBytes
{
    /// <summary>Writes <paramref name="bytes"/> at <paramref name="byteOffset"/> within <paramref name="tensor"/>'s data, in whichever file of <paramref name="folder"/> holds it.</summary>
    public static void Poke(string folder, string tensor, long byteOffset, byte[] bytes)
    {
        foreach (string file in Directory.EnumerateFiles(folder, "*.safetensors"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
            var prefix = new byte[8];
            stream.ReadExactly(prefix);
            long headerLength = BinaryPrimitives.ReadInt64LittleEndian(prefix);
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            if (JsonNode.Parse(header)![tensor] is JsonNode entry)
            {
                long begin = entry["data_offsets"]![0]!.GetValue<long>();
                stream.Position = 8 + headerLength + begin + byteOffset;
                stream.Write(bytes);
                return;
            }
        }

        throw new ArgumentException($"{tensor} is not in {folder}");
    }
}
