namespace HyperDex.Runtime.Tests.Devices;

/// <summary>The sysfs trees under tests/fixtures/sysfs, and writable copies of them for tests that spoil files.</summary>
internal static class SysfsFixtures
{
    public static string Path(string name) =>
        System.IO.Path.Combine(SharedData.RepositoryRoot, "tests", "fixtures", "sysfs", name);

    /// <summary>Copies a fixture (symlinks kept as symlinks) to a temporary directory the caller deletes.</summary>
    public static string Copy(string name)
    {
        string target = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hdx-sysfs-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(Path(name), target);
        return target;
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string entry in Directory.EnumerateFileSystemEntries(source))
        {
            string destination = System.IO.Path.Combine(target, System.IO.Path.GetFileName(entry));
            var info = new FileInfo(entry);
            if (info.LinkTarget is string link)
            {
                File.CreateSymbolicLink(destination, link);
            }
            else if (Directory.Exists(entry))
            {
                CopyDirectory(entry, destination);
            }
            else
            {
                File.Copy(entry, destination);
            }
        }
    }
}
