using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Models;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// The model snapshots in a Hugging Face cache, as `hf cache scan` and `hf cache delete` see them: listing, and removing a
/// snapshot with the refs that point at it and the blobs no other snapshot links to.
/// </summary>
public static class HubCacheCatalog
{
    public static IReadOnlyList<DownloadedSnapshot> List(string cacheDirectory)
    {
        var found = new List<DownloadedSnapshot>();
        foreach (string modelId in HubCache.CachedModelIds(cacheDirectory))
        {
            var cache = new HubCache(cacheDirectory, HubRepoId.Parse(modelId));
            string snapshots = Path.Combine(cache.RepoFolder, "snapshots");
            if (!Directory.Exists(snapshots))
            {
                continue;
            }

            var refs = Refs(cache.RepoFolder);
            foreach (string folder in Directory.EnumerateDirectories(snapshots))
            {
                string commit = Path.GetFileName(folder);
                var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
                var targets = files.Select(Resolve).Where(t => t.Exists).ToList();
                found.Add(new DownloadedSnapshot
                {
                    ModelId = modelId,
                    Revision = commit,
                    Refs = refs.Where(r => r.Commit == commit).Select(r => r.Name).Order(StringComparer.Ordinal).ToList(),
                    Path = folder,
                    Files = targets.Count,
                    SizeBytes = targets.Sum(t => t.Length),
                    LastModified = targets.Count == 0 ? Directory.GetLastWriteTimeUtc(folder) : targets.Max(t => t.LastWriteTimeUtc),
                });
            }
        }

        return found;
    }

    /// <summary>
    /// Removes one snapshot: its folder, the refs pointing at it, and the blobs that no remaining snapshot links to; the
    /// whole repository folder once no snapshot is left. Returns the bytes freed.
    /// </summary>
    public static long Remove(string cacheDirectory, DownloadedSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var cache = new HubCache(cacheDirectory, HubRepoId.Parse(snapshot.ModelId));
        string folder = cache.SnapshotFolder(HubPaths.CheckCommit(snapshot.Revision, cache.Repo));
        if (!Directory.Exists(folder))
        {
            throw new HdxException("DownloadedModelNotFound", HdxErrorKind.NotFound,
                $"{snapshot.ModelId} has no downloaded snapshot {snapshot.Revision} in {cacheDirectory}", snapshot.ModelId,
                "List the downloaded models with Get-HdxModel -Downloaded.");
        }

        var doomed = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Resolve(new FileInfo(f)).FullName).ToHashSet(StringComparer.Ordinal);
        Directory.Delete(folder, recursive: true);
        foreach (var (name, _) in Refs(cache.RepoFolder).Where(r => r.Commit == snapshot.Revision))
        {
            File.Delete(Path.Combine(cache.RepoFolder, "refs", name));
        }

        string snapshots = Path.Combine(cache.RepoFolder, "snapshots");
        var kept = Directory.Exists(snapshots)
            ? Directory.EnumerateFiles(snapshots, "*", SearchOption.AllDirectories).Select(f => Resolve(new FileInfo(f)).FullName).ToHashSet(StringComparer.Ordinal)
            : [];
        long freed = 0;
        string blobs = Path.Combine(cache.RepoFolder, "blobs") + Path.DirectorySeparatorChar;
        foreach (string blob in doomed.Where(b => b.StartsWith(blobs, StringComparison.Ordinal) && !kept.Contains(b) && File.Exists(b)))
        {
            freed += new FileInfo(blob).Length;
            File.Delete(blob);
        }

        if (kept.Count == 0 && (!Directory.Exists(snapshots) || !Directory.EnumerateFileSystemEntries(snapshots).Any()))
        {
            Directory.Delete(cache.RepoFolder, recursive: true);
        }

        return freed;
    }

    /// <summary>What a snapshot entry points at: the blob of a symlink, or the file itself where links were copies.</summary>
    private static FileInfo Resolve(FileInfo file) =>
        file.LinkTarget is null ? file : (file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo) ?? file;

    private static List<(string Name, string Commit)> Refs(string repoFolder)
    {
        string refs = Path.Combine(repoFolder, "refs");
        return Directory.Exists(refs)
            ? Directory.EnumerateFiles(refs, "*", SearchOption.AllDirectories)
                .Select(f => (Path.GetRelativePath(refs, f).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllText(f).Trim()))
                .ToList()
            : [];
    }
}
