using System.Text;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-st-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>A file with a hand-written header and a data section of the given length.</summary>
    private string Raw(string header, int dataLength, long? declaredHeaderLength = null)
    {
        string path = Path.Combine(_temp, Guid.NewGuid().ToString("N") + ".safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes(declaredHeaderLength ?? json.Length));
        stream.Write(json);
        stream.Write(new byte[dataLength]);
        return path;
    }

    private static string ErrorOf(string path) => Assert.Throws<HdxException>(() => SafetensorsFile.Open(path).Dispose()).ErrorId;

    [Fact]
    public void RoundTripsEveryDtypeThroughTheWriterAndTheMappedReader()
    {
        float[] values = { 0f, 1f, -2.5f, 3.14159f, 65504f, 1e-3f, float.NaN, float.NegativeInfinity };
        string path = Path.Combine(_temp, "all.safetensors");
        SafetensorsWriter.WriteSingles(path, new[]
        {
            (new TensorSpec("a", HdxDtype.F32, new long[] { 2, 4 }), values),
            (new TensorSpec("b", HdxDtype.F16, new long[] { 8 }), values),
            (new TensorSpec("c", HdxDtype.BF16, new long[] { 4, 2 }), values),
        }, new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(0, (8 + BitConverter.ToInt64(File.ReadAllBytes(path), 0)) % 64);
        var read = new float[8];
        file.ReadSingles(file.Get("a"), 0, read);
        Assert.Equal(values, read);
        file.ReadSingles(file.Get("b"), 0, read);
        Assert.Equal(values.Select(v => (float)(Half)v), read);
        file.ReadSingles(file.Get("c"), 0, read);
        Assert.Equal(new[] { 2L, 4L }, file.Get("a").Shape);
        Assert.Equal(new float[] { 0f, 1f, -2.5f, 3.140625f, 65536f, BitConverter.UInt32BitsToSingle(0x3A830000), float.NaN, float.NegativeInfinity }, read);
    }

    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1.0 exact
    [InlineData(0x3F808000u, (ushort)0x3F80)] // halfway, even stays
    [InlineData(0x3F818000u, (ushort)0x3F82)] // halfway, odd rounds up to even
    [InlineData(0x3F808001u, (ushort)0x3F81)] // above halfway
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float max overflows to +inf, as torch does
    public void RoundsToBFloat16ToNearestEven(uint bits, ushort expected) =>
        Assert.Equal(expected, ElementConversion.ToBFloat16(BitConverter.UInt32BitsToSingle(bits)));

    [SkippableFact]
    public void ReadsTheRealStoriesCheckpoint()
    {
        using var file = SafetensorsFile.Open(Path.Combine(SharedData.Require("models/stories260K"), "model.safetensors"));
        Assert.Equal(2 + (5 * 9), file.Tensors.Count);
        Assert.Equal(new long[] { 172, 64 }, file.Get("model.layers.4.mlp.gate_proj.weight").Shape);
        Assert.All(file.Tensors.Values, t => Assert.Equal(HdxDtype.F32, t.Dtype));
    }

    private const string Tensor16 = "\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}";

    [Fact]
    public void AcceptsAMinimalValidFile() => SafetensorsFile.Open(Raw("{" + Tensor16 + "}", 16)).Dispose();

    [Fact]
    public void RejectsAFileTooShortForTheLength()
    {
        string path = Path.Combine(_temp, "short.safetensors");
        File.WriteAllBytes(path, new byte[5]);
        Assert.Equal("SafetensorsTruncated", ErrorOf(path));
    }

    [Fact]
    public void RejectsAHeaderLengthPastTheEnd() => Assert.Equal("SafetensorsHeaderOutOfRange", ErrorOf(Raw("{" + Tensor16 + "}", 16, 1_000_000)));

    [Fact]
    public void RejectsANegativeHeaderLength() => Assert.Equal("SafetensorsHeaderOutOfRange", ErrorOf(Raw("{}", 0, -5)));

    [Theory]
    [InlineData("{\"t\":")]
    [InlineData("[1,2]")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4]}}")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}")]
    [InlineData("{" + Tensor16 + "," + Tensor16 + "}")]
    [InlineData("{\"__metadata__\":{\"a\":1}," + Tensor16 + "}")]
    public void RejectsMalformedHeaders(string header) => Assert.Equal("SafetensorsInvalidHeader", ErrorOf(Raw(header, 16)));

    [Fact]
    public void RejectsAnUnknownDtype() =>
        Assert.Equal("SafetensorsUnknownDtype", ErrorOf(Raw("{\"t\":{\"dtype\":\"F99\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16)));

    [Fact]
    public void RejectsAKnownButUnsupportedDtype() =>
        Assert.Equal("SafetensorsUnsupportedDtype", ErrorOf(Raw("{\"t\":{\"dtype\":\"I8\",\"shape\":[16],\"data_offsets\":[0,16]}}", 16)));

    [Fact]
    public void RejectsASizeThatIsNotShapeTimesDtype() =>
        Assert.Equal("SafetensorsSizeMismatch", ErrorOf(Raw("{\"t\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16)));

    [Fact]
    public void RejectsOverlappingTensors() => Assert.Equal("SafetensorsOverlappingTensors", ErrorOf(Raw(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24)));

    [Fact]
    public void RejectsATensorPastTheEndOfTheData() => Assert.Equal("SafetensorsTruncated", ErrorOf(Raw("{" + Tensor16 + "}", 12)));

    [Fact]
    public void RejectsGapsAndTrailingBytes()
    {
        Assert.Equal("SafetensorsInvalidOffsets", ErrorOf(Raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 20)));
        Assert.Equal("SafetensorsInvalidOffsets", ErrorOf(Raw("{" + Tensor16 + "}", 20)));
    }
}
