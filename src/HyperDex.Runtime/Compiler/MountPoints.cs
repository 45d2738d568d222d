using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Compiler;

/// <summary>Whether a folder is a mount point (Linux: listed in /proc/self/mountinfo), which rename(2) cannot move (EBUSY).</summary>
internal static class MountPoints
{
    public static bool IsMountPoint(string folder)
    {
        const string mountInfo = "/proc/self/mountinfo";
        if (!OperatingSystem.IsLinux() || !File.Exists(mountInfo))
        {
            return false;
        }

        string path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        try
        {
            // Field 5 is the mount point, with space, tab, newline and backslash written as \ooo octal escapes.
            return File.ReadLines(mountInfo).Select(line => line.Split(' ')).Any(fields => fields.Length > 4 && Unescape(fields[4]) == path);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder();
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && int.TryParse(field.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }
}
