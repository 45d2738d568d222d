using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Turns O_DIRECT on or off for an open file (fcntl F_SETFL), so a compile's images go to the disk without passing
/// through the page cache. .NET's FileOptions has no O_DIRECT on Linux, hence the call. Why the images are written
/// this way: DESIGN.md, "Write size".
/// </summary>
internal static partial class DirectWrite
{
    /// <summary>Buffer address, file offset and length alignment of a direct write: a page covers every sector size.</summary>
    public const int Alignment = 4096;

    private const int GetFlags = 3;
    private const int SetFlags = 4;

    /// <summary>Whether the file now bypasses the page cache; false (and unchanged) where the file system refuses.</summary>
    public static bool TryEnable(SafeFileHandle file) => SetDirect(file, on: true);

    /// <summary>Back to ordinary writes; false when even that failed.</summary>
    public static bool TryDisable(SafeFileHandle file) => SetDirect(file, on: false);

    private static bool SetDirect(SafeFileHandle file, bool on)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        // O_DIRECT is 0x4000 on x64 and 0x10000 on arm64 (the only Linux targets the module ships).
        int direct = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x10000 : 0x4000;
        int fd = (int)file.DangerousGetHandle();
        int flags = fcntl(fd, GetFlags, 0);
        return flags >= 0 && fcntl(fd, SetFlags, on ? flags | direct : flags & ~direct) == 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);
}
