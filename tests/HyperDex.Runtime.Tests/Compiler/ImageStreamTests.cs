using System.IO.Hashing;
using HyperDex.Runtime.Compiler;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

public sealed class ImageStreamTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hdx-image-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // Lengths around the 4 MiB blocks and the 4 KiB direct-write sectors: a short last block is padded to whole
    // sectors for O_DIRECT and must be cut off again; whole blocks must not be.
    [Theory]
    [InlineData(17)]
    [InlineData(4096)]
    [InlineData((2 << 22) + (3 * 4096) + 17)]
    [InlineData(3 << 22)]
    public void WritesEveryByteAndItsChecksumBothDirectAndBuffered(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        foreach (bool direct in new[] { true, false })
        {
            string path = Path.Combine(_folder, $"device-{direct}.bin");
            using (var stream = new ImageStream(path, direct))
            {
                if (!direct)
                {
                    Assert.False(stream.WritesDirect);
                }

                // Uneven pieces, as the tensor writer hands them over.
                for (int offset = 0, piece = 1; offset < length; offset += piece, piece = (piece * 7 % 100_003) + 1)
                {
                    stream.Write(data.AsSpan(offset, Math.Min(piece, length - offset)));
                }

                stream.Complete();
                Assert.Equal(length, stream.Checksum.Size);
                Assert.Equal(Convert.ToHexStringLower(XxHash128.Hash(data)), stream.Checksum.Xxh128);
            }

            Assert.Equal(data, File.ReadAllBytes(path));
        }
    }

    [SkippableFact]
    public void WritesDirectWhereTheFileSystemTakesIt()
    {
        using (var file = File.Create(Path.Combine(_folder, "probe")))
        {
            Skip.IfNot(OperatingSystem.IsLinux() && DirectWrite.TryEnable(file.SafeFileHandle),
                "the temp folder's file system does not take O_DIRECT, so every image is written through the page cache");
        }

        using var stream = new ImageStream(Path.Combine(_folder, "device0.bin"));
        Assert.True(stream.WritesDirect);
        stream.Write(new byte[5000]);
        stream.Complete();
        Assert.Equal(5000, new FileInfo(Path.Combine(_folder, "device0.bin")).Length);
    }

    [Fact]
    public void RefusesAnExistingFile()
    {
        string path = Path.Combine(_folder, "device0.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<IOException>(() => new ImageStream(path));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
    }
}
