using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// Parses and strictly validates a safetensors header: well-formed JSON, known and supported dtypes,
/// size = shape × dtype size, every range inside the data section, no overlaps and no gaps (as HF's reader demands).
/// </summary>
public static class SafetensorsHeader
{
    /// <summary>HF's reader refuses headers above 100 MB; so do we.</summary>
    public const long MaxHeaderLength = 100_000_000;

    public static (IReadOnlyList<SafetensorsTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> json, long dataLength, string file)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw Invalid(file, $"its header is not well-formed JSON ({e.Message})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(file, "its header is not a JSON object");
            }

            var tensors = new List<SafetensorsTensor>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw Invalid(file, $"its header names '{property.Name}' twice");
                }

                if (property.Name == "__metadata__")
                {
                    ReadMetadata(property.Value, metadata, file);
                    continue;
                }

                tensors.Add(ReadTensor(property.Name, property.Value, file));
            }

            CheckRanges(tensors, dataLength, file);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(file, "its __metadata__ is not an object of strings");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid(file, $"its __metadata__ entry '{entry.Name}' is not a string");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensor ReadTensor(string name, JsonElement value, string file)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(file, $"tensor '{name}' needs a string dtype, a shape array and a data_offsets array");
        }

        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryParse(dtypeName, out HdxDtype dtype))
        {
            bool known = SafetensorsDtypes.IsKnown(dtypeName);
            throw new HdxException(known ? "SafetensorsUnsupportedDtype" : "SafetensorsUnknownDtype", HdxErrorKind.InvalidData,
                $"{file}: tensor '{name}' has {(known ? "the unsupported" : "the unknown")} dtype '{dtypeName}'; HyperDex reads {string.Join(", ", SafetensorsDtypes.Supported)}.",
                file, "Re-save the checkpoint in float32, float16 or bfloat16.");
        }

        var shape = new List<long>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (!dim.TryGetInt64(out long size) || size < 0)
            {
                throw Invalid(file, $"tensor '{name}' has a shape entry that is not a non-negative integer");
            }

            shape.Add(size);
        }

        var offsets = offsetsElement.EnumerateArray().ToArray();
        if (offsets.Length != 2 || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end)
            || begin < 0 || end < begin)
        {
            throw Invalid(file, $"tensor '{name}' has data_offsets that are not [begin, end] with 0 <= begin <= end");
        }

        var tensor = new SafetensorsTensor(name, dtype, shape, begin, end);
        long expected;
        try
        {
            expected = checked(tensor.ElementCount * SafetensorsDtypes.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            expected = -1;
        }

        if (expected != tensor.ByteLength)
        {
            throw new HdxException("SafetensorsSizeMismatch", HdxErrorKind.InvalidData,
                $"{file}: tensor '{name}' ({dtypeName} {tensor.ShapeText}) needs {expected} bytes but its data_offsets span {tensor.ByteLength}.",
                file, "The file is corrupt; download or export it again.");
        }

        return tensor;
    }

    private static void CheckRanges(List<SafetensorsTensor> tensors, long dataLength, string file)
    {
        long expectedBegin = 0;
        SafetensorsTensor? previous = null;
        foreach (var tensor in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (tensor.End > dataLength)
            {
                throw new HdxException("SafetensorsTruncated", HdxErrorKind.InvalidData,
                    $"{file}: tensor '{tensor.Name}' ends at byte {tensor.End} of the data section, which holds only {dataLength} bytes (truncated file?).",
                    file, "The file is incomplete; download or copy it again.");
            }

            if (tensor.Begin < expectedBegin)
            {
                throw new HdxException("SafetensorsOverlappingTensors", HdxErrorKind.InvalidData,
                    $"{file}: tensors '{previous!.Name}' and '{tensor.Name}' overlap in the data section.", file,
                    "The file is corrupt; download or export it again.");
            }

            if (tensor.Begin > expectedBegin)
            {
                throw Offsets(file, $"bytes {expectedBegin}..{tensor.Begin} of the data section belong to no tensor");
            }

            expectedBegin = tensor.End;
            previous = tensor;
        }

        if (expectedBegin != dataLength)
        {
            throw Offsets(file, $"the data section holds {dataLength} bytes but its tensors cover {expectedBegin}");
        }
    }

    private static HdxException Offsets(string file, string detail) =>
        new("SafetensorsInvalidOffsets", HdxErrorKind.InvalidData, $"{file}: {detail}.", file,
            "The file is corrupt; download or export it again.");

    internal static HdxException Invalid(string file, string detail, Exception? inner = null) =>
        new("SafetensorsInvalidHeader", HdxErrorKind.InvalidData, $"{file} is not a valid safetensors file: {detail}.", file,
            "The file is corrupt or not safetensors; download or export it again.", inner);
}
