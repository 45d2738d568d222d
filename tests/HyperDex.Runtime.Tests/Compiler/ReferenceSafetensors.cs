using System.Text.Json;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>
/// An independent, deliberately naive safetensors reader for checking the compiler's output: whole file in memory,
/// F32 only, no validation. Shares no code with HyperDex.Runtime.Checkpoints.
/// </summary>
internal sealed class ReferenceSafetensors
{
    private readonly byte[] _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, (long[] Shape, long Begin, long End)> _tensors = new();

    public ReferenceSafetensors(string path)
    {
        _file = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(_file, 0);
        _dataStart = 8 + headerLength;
        using var header = JsonDocument.Parse(_file.AsMemory(8, (int)headerLength));
        foreach (var entry in header.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__"))
        {
            if (entry.Value.GetProperty("dtype").GetString() != "F32")
            {
                throw new NotSupportedException("reference reader: F32 only");
            }

            var offsets = entry.Value.GetProperty("data_offsets");
            _tensors[entry.Name] = (entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                offsets[0].GetInt64(), offsets[1].GetInt64());
        }
    }

    public IReadOnlyCollection<string> Names => _tensors.Keys;

    public long[] Shape(string name) => _tensors[name].Shape;

    public float[] Floats(string name)
    {
        var (_, begin, end) = _tensors[name];
        var values = new float[(end - begin) / 4];
        Buffer.BlockCopy(_file, (int)(_dataStart + begin), values, 0, values.Length * 4);
        return values;
    }
}
