using System.Globalization;
using System.Text.RegularExpressions;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Names of the compiler's temporary folders carry the process id of their owner, so a later compile can remove
/// those a killed compile (SIGKILL, power loss: no finally ran) left behind — and only those: a folder whose owner
/// still runs is another compile at work.
/// </summary>
internal static partial class StaleTemporaries
{
    public const string Marker = ".hdx-tmp-";

    /// <summary>A fresh temporary name: .&lt;prefix&gt;.hdx-tmp-&lt;pid&gt;-&lt;random&gt;.</summary>
    public static string Name(string prefix) =>
        $".{prefix}{Marker}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Removes the temporaries in <paramref name="directory"/> whose owner process is gone; never throws.</summary>
    public static void Sweep(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                return;
            }

            foreach (string entry in Directory.EnumerateFileSystemEntries(directory, "*" + Marker + "*"))
            {
                var match = Owned().Match(Path.GetFileName(entry));
                if (match.Success && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && !IsRunning(pid))
                {
                    Remove(entry);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Sweeping is housekeeping: a folder we cannot list or remove is left for the next compile.
        }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture));
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void Remove(string entry)
    {
        try
        {
            if (Directory.Exists(entry) && new DirectoryInfo(entry).LinkTarget is null)
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"^\..*\.hdx-tmp-([0-9]{1,10})-[0-9a-f]{8}(-old)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Owned();
}
