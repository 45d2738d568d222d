using System.Runtime.InteropServices;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// Zeroed native memory, backed by transparent huge pages where Linux offers them: the KV cache's (and the
/// benchmark's buffers, which must not lose bandwidth to TLB misses the engine does not have). An anonymous
/// mapping is zero without being written, so its pages fault in on first use, not at load (an unused part of the
/// pool costs no memory), and with MADV_HUGEPAGE each fault brings in 2 MB: a sequence's first decode steps and
/// prefill write into fresh blocks, and on this VM a 4 KB fault cost about 16 µs, a quarter of a small model's KV
/// write time per step, which 2 MB pages make 512 times rarer. A GC array cannot be advised before the runtime zeroes
/// (and so faults in) its pages. Elsewhere, or if the mapping fails, zeroed NativeMemory is used, which throws
/// <see cref="OutOfMemoryException"/> when even that fails.
/// </summary>
internal sealed unsafe partial class HugePageMemory : IDisposable
{
    private const long HugePageBytes = 2 << 20;
    private const int ProtectRead = 1, ProtectWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadviseHugePage = 14, MadvisePopulateWrite = 23;
    private const int PageBytes = 4096, InvalidArgument = 22;

    private readonly void* _mapping;
    private readonly nuint _mappedBytes;
    private bool _disposed;

    public HugePageMemory(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Bytes = bytes;
        if (OperatingSystem.IsLinux())
        {
            // One extra huge page so the usable start can be aligned to 2 MB, which huge pages need.
            _mappedBytes = checked((nuint)(bytes + HugePageBytes));
            nint mapping = mmap(0, _mappedBytes, ProtectRead | ProtectWrite, MapPrivate | MapAnonymous, -1, 0);
            if (mapping != -1)
            {
                _mapping = (void*)mapping;
                Pointer = (byte*)((mapping + (nint)HugePageBytes - 1) & ~(nint)(HugePageBytes - 1));
                Advise(Pointer, bytes); // without THP the memory is still zero and usable
                return;
            }
        }

        _mappedBytes = 0;
        Pointer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
    }

    /// <summary>
    /// Asks Linux for transparent huge pages over [start, start + length) (MADV_HUGEPAGE): a hint, ignored where THP is
    /// off or the call fails. The weight images advise their file mappings through it too.
    /// </summary>
    public static void Advise(void* start, long length)
    {
        if (OperatingSystem.IsLinux() && length > 0)
        {
            _ = madvise((nint)start, (nuint)length, MadviseHugePage);
        }
    }

    /// <summary>
    /// Makes every page resident now instead of at first use, without changing what the memory holds (it may be in
    /// use by another thread): MADV_POPULATE_WRITE (Linux 5.14+) faults the range in as writable, huge pages where
    /// advised; where the kernel does not know it (EINVAL), one atomic add of 0 per 4 KB page does the same (an
    /// atomic read-modify-write of the value already there, so a concurrent write is never lost).
    /// </summary>
    /// <returns>0, or the errno with which the kernel refused to back the range (ENOMEM and the like): touching it
    /// page by page then would only bring in the OOM killer, so nothing more is tried.</returns>
    public int TryCommit()
    {
        if (OperatingSystem.IsLinux() && _mappedBytes > 0)
        {
            if (madvise((nint)Pointer, (nuint)Bytes, MadvisePopulateWrite) == 0)
            {
                return 0;
            }

            int error = Marshal.GetLastPInvokeError();
            if (error != InvalidArgument)
            {
                return error;
            }
        }

        for (long offset = 0; offset < Bytes; offset += PageBytes)
        {
            Interlocked.Add(ref *(int*)(Pointer + offset), 0);
        }

        return 0;
    }

    /// <summary>Start of the usable, zeroed memory (2 MB aligned when mapped).</summary>
    public byte* Pointer { get; }

    public long Bytes { get; }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_mappedBytes > 0)
        {
            _ = munmap((nint)_mapping, _mappedBytes);
        }
        else
        {
            NativeMemory.Free(Pointer);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
