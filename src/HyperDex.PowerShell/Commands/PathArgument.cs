using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Turns a user's path into a file-system path, so that a path no file system can hold (a NUL character, an unknown
/// drive, a non-file-system provider) is an InvalidPath ErrorRecord instead of a raw ArgumentException.
/// </summary>
internal static class PathArgument
{
    public static string Resolve(PSCmdlet cmdlet, string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid(path, "it contains a NUL character", null);
        }

        try
        {
            return cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException
            or ProviderInvocationException or PSInvalidOperationException)
        {
            throw Invalid(path, e.Message, e);
        }
    }

    private static HdxException Invalid(string path, string why, Exception? inner) =>
        new("InvalidPath", HdxErrorKind.InvalidArgument, $"'{path.Replace("\0", "\\0", StringComparison.Ordinal)}' is not a usable file-system path: {why}",
            path, "Give a path on the file system.", inner);
}
