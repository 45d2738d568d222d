using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// One repository's folder in the huggingface_hub cache, laid out exactly as Python's tools do, so either side reuses
/// the other's downloads: `blobs/&lt;etag&gt;` (content), `snapshots/&lt;commit&gt;/&lt;file&gt;` (relative symlinks into
/// blobs), `refs/&lt;revision&gt;` (the commit a branch or tag pointed to), and `.locks/models--org--name/&lt;etag&gt;.lock`.
/// </summary>
internal sealed class HubCache
{
    public HubCache(string cacheDirectory, HubRepoId repo)
    {
        Repo = repo;
        RepoFolder = Path.Combine(cacheDirectory, repo.CacheFolderName);
        LocksFolder = Path.Combine(cacheDirectory, ".locks", repo.CacheFolderName);
    }

    public HubRepoId Repo { get; }

    /// <summary>The model ids that have a folder in the cache (for tab completion); never throws.</summary>
    public static IReadOnlyList<string> CachedModelIds(string cacheDirectory)
    {
        try
        {
            return Directory.EnumerateDirectories(cacheDirectory, "models--*")
                .Select(d => Path.GetFileName(d)["models--".Length..].Replace("--", "/", StringComparison.Ordinal))
                .Order(StringComparer.OrdinalIgnoreCase)
                .ToList();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    public string RepoFolder { get; }

    private string LocksFolder { get; }

    public string BlobPath(string etag) => Path.Combine(RepoFolder, "blobs", etag);

    public string SnapshotFolder(string commit) => Path.Combine(RepoFolder, "snapshots", commit);

    public string PointerPath(string commit, string file) => Path.Combine(SnapshotFolder(commit), file.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The commit a revision resolves to from the cache alone, or null (huggingface_hub's offline lookup).</summary>
    public string? ResolveOffline(string revision)
    {
        if (HubPaths.IsCommitHash(revision))
        {
            return Directory.Exists(SnapshotFolder(revision)) ? revision : null;
        }

        string refPath = Path.Combine(RepoFolder, "refs", revision.Replace('/', Path.DirectorySeparatorChar));
        if (!File.Exists(refPath))
        {
            return null;
        }

        string commit = File.ReadAllText(refPath).Trim();
        return HubPaths.IsCommitHash(commit) && Directory.Exists(SnapshotFolder(commit)) ? commit : null;
    }

    /// <summary>Files of a cached snapshot whose link resolves to content ('/'-separated, relative).</summary>
    public IReadOnlyList<string> SnapshotFiles(string commit)
    {
        string folder = SnapshotFolder(commit);
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(File.Exists) // a dangling link (its blob was removed) does not count
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .ToList();
    }

    /// <summary>Records which commit <paramref name="revision"/> points to (not written for a commit hash itself).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit)
        {
            return;
        }

        string refPath = Path.Combine(RepoFolder, "refs", revision.Replace('/', Path.DirectorySeparatorChar));
        WriteAtomically(refPath, path => File.WriteAllText(path, commit));
    }

    /// <summary>
    /// Points `snapshots/&lt;commit&gt;/&lt;file&gt;` at its blob with a relative symlink (as huggingface_hub does), or a copy
    /// where the file system has no symlinks. An existing working pointer is kept.
    /// </summary>
    public void LinkIntoSnapshot(string commit, string file, string etag)
    {
        string pointer = PointerPath(commit, file);
        if (File.Exists(pointer))
        {
            return;
        }

        string blob = BlobPath(etag);
        WriteAtomically(pointer, temporary =>
        {
            try
            {
                File.CreateSymbolicLink(temporary, Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob));
            }
            catch (IOException) when (!File.Exists(temporary))
            {
                File.Copy(blob, temporary);
            }
        });
    }

    /// <summary>Takes the cross-process lock of one blob (flock, which Python's filelock also uses), waiting for it.</summary>
    public async Task<FileStream> LockBlobAsync(string etag, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(LocksFolder);
        string lockPath = Path.Combine(LocksFolder, etag + ".lock");
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException error) when (!HubErrors.IsDiskFull(error))
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Removes the weight files of a snapshot and their blobs (HyperDex's low_memory_usage after a compile): the
    /// configuration and tokenizer files stay. Returns the bytes freed.
    /// </summary>
    public long RemoveWeights(string commit)
    {
        long freed = 0;
        foreach (string file in SnapshotFiles(commit).Where(HubFileSelection.IsWeightFile))
        {
            string pointer = PointerPath(commit, file);
            var link = new FileInfo(pointer);
            string? target = link.LinkTarget is null ? null : link.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            if (target is not null && File.Exists(target))
            {
                freed += new FileInfo(target).Length;
                File.Delete(target);
            }
            else
            {
                freed += link.Length;
            }

            File.Delete(pointer);
        }

        return freed;
    }

    private void WriteAtomically(string path, Action<string> write)
    {
        string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException error)
        {
            throw HubErrors.WriteFailed(Repo, path, error);
        }
        catch (UnauthorizedAccessException error)
        {
            throw new HdxException("HubCacheWriteFailed", HdxErrorKind.WriteError,
                $"Could not write '{path}' in the Hugging Face cache: {error.Message}", path,
                "Check the permissions of HF_HUB_CACHE (or HF_HOME).", error);
        }
        finally
        {
            if (File.Exists(temporary) || new FileInfo(temporary).LinkTarget is not null)
            {
                File.Delete(temporary);
            }
        }
    }
}
