using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Adds a built variant to a compiled folder that other processes may be extending at the same time: under an
/// exclusive lock file, the manifest is read again, the variant's folders are moved into place and the variant (and
/// its file checksums) merged into what is there now, so two processes adding -NumDevice 2 and 4 both land.
/// </summary>
internal static class ManifestUpdate
{
    public const string LockFile = ".hdx.lock";

    /// <param name="written">Checksums taken while writing the variant's images (keys relative to the model folder).</param>
    public static CompiledManifest AddVariant(string root, string staging, DeviceVariant variant, CompiledManifest planned,
        IReadOnlyDictionary<string, FileChecksum> written, CancellationToken cancellation)
    {
        using var exclusive = Lock(root, cancellation);
        var current = CompilePlan.ReadManifest(root) ?? planned;
        string n = variant.NumDevice.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // A variant the plan found listed is being rebuilt (its files were missing or damaged) and is replaced; one
        // that another process added meanwhile is in place and listed already, so that one is kept.
        bool rebuilding = planned.Variants.Any(v => v.NumDevice == variant.NumDevice);
        if (!rebuilding && current.Variants.Any(v => v.NumDevice == variant.NumDevice))
        {
            return current;
        }

        foreach (string kind in new[] { CompiledLayout.ParamDirectory, CompiledLayout.InstructionDirectory })
        {
            string final = Path.Combine(root, kind, n);
            if (Directory.Exists(final))
            {
                Directory.Delete(final, recursive: true); // left by an earlier interrupted variant build
            }

            Directory.CreateDirectory(Path.Combine(root, kind));
            Directory.Move(Path.Combine(staging, kind, n), final);
        }

        Dictionary<string, FileChecksum>? files = null;
        if (current.Files is not null)
        {
            files = new Dictionary<string, FileChecksum>(current.Files, StringComparer.Ordinal);
            foreach (var (key, checksum) in ArtifactChecksums.ForVariant(root, variant.NumDevice, written, cancellation))
            {
                files[key] = checksum;
            }
        }

        var variants = current.Variants.Where(v => v.NumDevice != variant.NumDevice).Append(variant).OrderBy(v => v.NumDevice).ToList();
        var manifest = current with { Variants = variants, Files = files };
        Write(root, manifest);
        return manifest;
    }

    /// <summary>hdx.json through a temporary file and a rename, so it is either the old or the new one, never half.</summary>
    public static void Write(string root, CompiledManifest manifest)
    {
        string path = CompiledLayout.Manifest(root);
        string temporary = path + ".tmp"; // one writer at a time: the compile's own folder, or under the lock
        CompiledJson.Write(temporary, manifest);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// An exclusive lock on root/.hdx.lock (.NET takes a flock for FileShare.None), waited for while another process
    /// holds it; released when disposed, and by the kernel if the process dies. The file itself stays (deleting it
    /// would let two processes lock two different files).
    /// </summary>
    public static FileStream Lock(string root, CancellationToken cancellation)
    {
        string path = Path.Combine(root, LockFile);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                cancellation.WaitHandle.WaitOne(50);
                cancellation.ThrowIfCancellationRequested();
            }
        }
    }
}
