using System.Globalization;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Devices;

/// <summary>
/// Reads sysfs attributes without ever throwing or blocking: a missing, unreadable (EIO from an offline sensor,
/// EACCES), non-regular (a FIFO or socket planted in the tree) or malformed attribute is simply "not known" (null),
/// because one odd file must never hide a card or hang discovery.
/// </summary>
internal static class SysfsFiles
{
    // sysfs text attributes are at most one page; binary ones (mem_topology) stay far below this.
    private const int MaxBytes = 1 << 20;

    public static string? ReadText(string path)
    {
        byte[]? bytes = ReadBytes(path);
        return bytes is null ? null : System.Text.Encoding.UTF8.GetString(bytes).Trim('\0', ' ', '\t', '\r', '\n');
    }

    public static byte[]? ReadBytes(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            // sysfs files report a size of 4096 (or 0) whatever they hold, so read to the end instead of trusting it.
            using var stream = RegularFile.OpenRead(path);
            if (stream is null)
            {
                return null;
            }

            using var buffer = new MemoryStream();
            var chunk = new byte[4096];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxBytes)
                {
                    return null;
                }
            }

            return buffer.ToArray();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A decimal or 0x-prefixed hexadecimal integer (the two forms sysfs uses).</summary>
    public static long? ReadInteger(string path) => ParseInteger(ReadText(path));

    public static long? ParseInteger(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long hex) ? hex : null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : null;
    }

    /// <summary>The name a symlink such as <c>driver</c> points at (<c>../../../bus/pci/drivers/xocl</c> → <c>xocl</c>).</summary>
    public static string? LinkName(string path)
    {
        try
        {
            string? target = new FileInfo(path).LinkTarget;
            if (string.IsNullOrEmpty(target))
            {
                return null;
            }

            string name = Path.GetFileName(target.TrimEnd('/'));
            return name.Length == 0 ? null : name;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The directory of an xocl/xclmgmt sub-device, named <c>&lt;name&gt;.&lt;u|m&gt;.&lt;instance&gt;</c> under the PCI
    /// function (found the way XRT's pcidev does: the first entry starting with <c>name.</c>).
    /// </summary>
    public static string? FindSubdevice(string functionDirectory, string name)
    {
        try
        {
            return Directory.EnumerateDirectories(functionDirectory, name + ".*")
                .Order(StringComparer.Ordinal)
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static IReadOnlyList<string> ListEntries(string directory)
    {
        try
        {
            return Directory.Exists(directory)
                ? Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal).ToList()
                : [];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
