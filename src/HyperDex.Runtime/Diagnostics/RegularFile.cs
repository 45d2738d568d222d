using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace HyperDex.Runtime.Diagnostics;

/// <summary>Opens untrusted paths (sysfs attributes, compiled artifacts) so that a planted FIFO or socket cannot hang the caller.</summary>
internal static partial class RegularFile
{
    /// <summary>
    /// Opens with O_NONBLOCK, so a FIFO without a writer cannot block open() (a plain open would wait forever, deaf
    /// to Ctrl+C), and refuses anything that cannot seek (FIFOs, sockets, terminals): sysfs attributes are regular
    /// files, and so are weight images. Null when the path cannot be opened or is not such a file. Symlinks are
    /// followed, so the stream's Length is the target's.
    /// </summary>
    public static FileStream? OpenRead(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        }

        int fd = NativeMethods.open(path, NativeMethods.ReadOnly | NativeMethods.NonBlocking | NativeMethods.CloseOnExec);
        if (fd < 0)
        {
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var stream = new FileStream(handle, FileAccess.Read, 1);
            if (stream.CanSeek)
            {
                return stream;
            }

            stream.Dispose();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            handle.Dispose();
            return null;
        }
    }

    private static partial class NativeMethods
    {
        // Linux open(2) flags, the same on x64 and arm64.
        public const int ReadOnly = 0;
        public const int NonBlocking = 0x800;
        public const int CloseOnExec = 0x80000;

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags);
    }

}
