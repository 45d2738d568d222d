using System.Runtime.InteropServices;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// Native buffers on transparent huge pages where Linux grants them, as the engine's mapped weights are (page-cache
/// large folios): the benchmark's buffers must not lose bandwidth to TLB misses the engine does not have.
/// </summary>
public static unsafe partial class HugePageMemory
{
    private const int HugePageBytes = 2 << 20;
    private const int MadviseHugePage = 14;

    public static void* Allocate(long bytes)
    {
        void* memory = NativeMemory.AlignedAlloc((nuint)bytes, HugePageBytes);
        if (OperatingSystem.IsLinux())
        {
            _ = madvise((nint)memory, (nuint)bytes, MadviseHugePage);
        }

        return memory;
    }

    public static void Free(void* memory) => NativeMemory.AlignedFree(memory);

    [LibraryImport("libc")]
    private static partial int madvise(nint address, nuint length, int advice);
}
