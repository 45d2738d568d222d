using System.Runtime.InteropServices;
using HyperDex.Runtime.Engine;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

public unsafe partial class HugePageMemoryTests
{
    [Fact]
    public void MemoryIsZeroedWritableAndAlignedForHugePages()
    {
        const long bytes = (5L << 20) + 12_345; // not a whole number of pages, so the tail is checked too
        using var memory = new HugePageMemory(bytes);
        Assert.Equal(bytes, memory.Bytes);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(0, (long)memory.Pointer % (2L << 20));
        }

        var span = new Span<byte>(memory.Pointer, checked((int)bytes));
        Assert.Equal(-1, span.IndexOfAnyExcept((byte)0));
        span.Fill(0xA5);
        Assert.Equal(-1, span.IndexOfAnyExcept((byte)0xA5));
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var memory = new HugePageMemory(4096);
        memory.Dispose();
        memory.Dispose();
    }

    [Fact]
    public void KvStorageStartsZeroedAndCopiesWholeBlocks()
    {
        using var storage = new KvLayerStorage(blockCount: 3, blockSize: 16, kvHeads: 2, headDim: 64);
        var keys = new Span<float>(storage.Keys, checked((int)storage.Length));
        var values = new Span<float>(storage.Values, checked((int)storage.Length));
        Assert.Equal(-1, keys.IndexOfAnyExcept(0f));
        Assert.Equal(-1, values.IndexOfAnyExcept(0f));

        int blockFloats = 2 * 16 * 64;
        for (int i = 0; i < blockFloats; i++)
        {
            keys[storage.Offset(2, 0, 0) + i] = i;
            values[storage.Offset(2, 0, 0) + i] = -i;
        }

        storage.CopyBlock(2, 0);
        Assert.True(keys.Slice(storage.Offset(0, 0, 0), blockFloats).SequenceEqual(keys.Slice(storage.Offset(2, 0, 0), blockFloats)));
        Assert.True(values.Slice(storage.Offset(0, 0, 0), blockFloats).SequenceEqual(values.Slice(storage.Offset(2, 0, 0), blockFloats)));
        Assert.Equal(-1, keys.Slice(storage.Offset(1, 0, 0), blockFloats).IndexOfAnyExcept(0f));
    }

    [SkippableFact]
    public void CommitMakesEveryPageResidentAndKeepsTheContents()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "mincore(2), which counts resident pages, is Linux's");
        const long bytes = 8L << 20;
        using var memory = new HugePageMemory(bytes);
        memory.Pointer[5 * 4096 + 3] = 0x5A; // a value already there must survive, as a running sequence's would
        Assert.True(ResidentPages(memory.Pointer, bytes) < bytes / 4096 / 2, "a fresh mapping should fault in on first use, not at allocation");

        Assert.Equal(0, memory.TryCommit());

        Assert.Equal(bytes / 4096, ResidentPages(memory.Pointer, bytes));
        var span = new Span<byte>(memory.Pointer, checked((int)bytes));
        Assert.Equal(0x5A, span[5 * 4096 + 3]);
        span[5 * 4096 + 3] = 0;
        Assert.Equal(-1, span.IndexOfAnyExcept((byte)0));
    }

    private static long ResidentPages(byte* start, long bytes)
    {
        var pages = new byte[bytes / 4096];
        fixed (byte* vector = pages)
        {
            Assert.Equal(0, mincore((nint)start, (nuint)bytes, vector));
        }

        return pages.Count(p => (p & 1) != 0);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mincore(nint address, nuint length, byte* vector);
}
