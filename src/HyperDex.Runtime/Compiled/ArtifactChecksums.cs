using System.IO.Hashing;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiled;

/// <summary>
/// The per-file checksums of <see cref="CompiledManifest.Files"/>: computed by the compiler over what it wrote, and
/// checked by the engine (sizes and small files at every load) and by Test-HdxModel (everything).
/// </summary>
public static class ArtifactChecksums
{
    /// <summary>Files above this size (weight images, the converted checkpoint) are hashed only on demand, not at every load.</summary>
    public const long QuickHashLimit = 16L << 20;

    private static readonly string[] ArtifactDirectories =
        [CompiledLayout.CheckpointDirectory, CompiledLayout.TokenizerDirectory, CompiledLayout.ParamDirectory, CompiledLayout.InstructionDirectory];

    /// <summary>
    /// Every artifact under <paramref name="root"/> (temporaries, whose names start with '.', excluded). A file in
    /// <paramref name="written"/> (by key: checksums the compiler took while writing it) is not read again when its
    /// size on disk is the one recorded.
    /// </summary>
    public static Dictionary<string, FileChecksum> ForFolder(string root, IReadOnlyDictionary<string, FileChecksum>? written,
        CancellationToken cancellation) =>
        Compute(root, ArtifactDirectories.SelectMany(d => Files(root, d)), written, cancellation);

    /// <summary>The param/N and inst/N artifacts of one device count (<paramref name="written"/> as for <see cref="ForFolder"/>).</summary>
    public static Dictionary<string, FileChecksum> ForVariant(string root, int numDevice, IReadOnlyDictionary<string, FileChecksum>? written,
        CancellationToken cancellation)
    {
        string n = numDevice.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Compute(root, Files(root, CompiledLayout.ParamDirectory + "/" + n).Concat(Files(root, CompiledLayout.InstructionDirectory + "/" + n)),
            written, cancellation);
    }

    /// <summary>The manifest's key of a file: relative to the model folder, '/'-separated.</summary>
    public static string Key(string root, string path) => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>
    /// The full path of a manifest key, or null when the key could leave the model folder (absolute, "..", empty
    /// parts): hdx.json is untrusted too.
    /// </summary>
    public static string? Resolve(string root, string key)
    {
        if (string.IsNullOrEmpty(key) || key.Contains('\0', StringComparison.Ordinal) || key.Contains('\\', StringComparison.Ordinal)
            || key.StartsWith('/') || key.Split('/').Any(part => part is "" or "." or ".."))
        {
            return null;
        }

        return Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>XXH128 of a regular file, streamed, honouring cancellation; null when it is not a readable regular file.</summary>
    public static string? Hash(string path, out long size, Action<long>? progress, CancellationToken cancellation)
    {
        using FileStream? stream = RegularFile.OpenRead(path);
        size = stream?.Length ?? -1;
        if (stream is null)
        {
            return null;
        }

        var hash = new XxHash128();
        var buffer = new byte[1 << 20];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            hash.Append(buffer.AsSpan(0, read));
            progress?.Invoke(read);
        }

        return Hex(hash);
    }

    /// <summary>The hash so far in xxHash's canonical form (big-endian, lower-case hex), the one xxh128sum prints.</summary>
    internal static string Hex(XxHash128 hash) => Convert.ToHexString(hash.GetCurrentHash()).ToLowerInvariant();

    private static IEnumerable<string> Files(string root, string relativeDirectory)
    {
        string directory = Path.Combine(root, relativeDirectory.Replace('/', Path.DirectorySeparatorChar));
        return Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Where(f => !Key(root, f).Split('/').Any(part => part.StartsWith('.')))
            : [];
    }

    private static Dictionary<string, FileChecksum> Compute(string root, IEnumerable<string> files, IReadOnlyDictionary<string, FileChecksum>? written,
        CancellationToken cancellation)
    {
        var checksums = new Dictionary<string, FileChecksum>(StringComparer.Ordinal);
        foreach (string file in files.Order(StringComparer.Ordinal))
        {
            if (written is not null && written.TryGetValue(Key(root, file), out var known) && new FileInfo(file).Length == known.Size)
            {
                checksums[Key(root, file)] = known;
                continue;
            }

            string hash = Hash(file, out long size, null, cancellation) ?? throw new IOException($"{file} is not a readable regular file");
            checksums[Key(root, file)] = new FileChecksum { Size = size, Xxh128 = hash };
        }

        return checksums;
    }
}
