namespace HyperDex.Runtime.Hub;

/// <summary>One file of a repository as the Hub lists it (`siblings` with `blobs=true`).</summary>
/// <param name="Path">Repository-relative, '/'-separated, already checked by <see cref="HubPaths.CheckFileName"/>.</param>
/// <param name="Size">Bytes of the real file (the LFS object, not its pointer); -1 when not listed.</param>
/// <param name="BlobId">The git blob sha1, which is the ETag of a file stored in git.</param>
/// <param name="LfsSha256">The sha256 of an LFS file, which is its ETag; null for files stored in git.</param>
public sealed record HubFileEntry(string Path, long Size, string? BlobId, string? LfsSha256);

/// <summary>A revision of a model repository resolved to its commit, with its files.</summary>
public sealed record HubRepoInfo(HubRepoId Repo, string Revision, string Commit, IReadOnlyList<HubFileEntry> Files);

/// <summary>A model snapshot in the huggingface_hub cache, ready for the compiler.</summary>
/// <param name="Path">`.../models--org--name/snapshots/&lt;commit&gt;`.</param>
/// <param name="Files">The files of the snapshot that HyperDex uses, relative to <paramref name="Path"/>.</param>
/// <param name="DownloadedBytes">Bytes fetched by this call (0 when everything came from the cache).</param>
public sealed record HubSnapshot(HubRepoId Repo, string Revision, string Commit, string Path,
    IReadOnlyList<string> Files, long DownloadedBytes);
