using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// Downloads what HyperDex needs of a Hub model into the huggingface_hub cache, like snapshot_download: resolve the
/// revision to a commit with its file list (`/api/models/{repo}/revision/{rev}?blobs=true`), pick the files, fetch
/// the missing blobs a few at a time, then link them into `snapshots/&lt;commit&gt;/` only when every one is verified.
/// Progress is reported from worker threads: the reporter must be thread-safe.
/// </summary>
public sealed class HubClient : IDisposable
{
    private readonly HubSettings _settings;
    private readonly HubHttp _http;

    public HubClient(HubSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _http = new HubHttp(settings);
    }

    public async Task<HubSnapshot> DownloadModelAsync(string modelId, string revision, IHdxReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reporter);
        var repo = HubRepoId.Parse(modelId);
        revision = HubPaths.CheckRevision(revision);
        var cache = new HubCache(_settings.CacheDirectory, repo);
        if (_settings.Offline)
        {
            return FromCacheOnly(cache, revision);
        }

        HubDownloadProgress.Listing(reporter, repo, revision);
        HubRepoInfo info;
        try
        {
            info = await GetRepoInfoAsync(repo, revision, cancellationToken).ConfigureAwait(false);
        }
        catch (HdxException error) when (error.ErrorId == "HubConnectionFailed" && TryFromCache(cache, revision) is { } cached)
        {
            // As snapshot_download does: the Hub is unreachable but the revision is cached, so use it and say so.
            reporter.Warning($"Could not reach {_settings.Endpoint.Host} ({error.Message}); using the cached snapshot {cached.Commit} of {repo}@{revision}.");
            return cached;
        }

        var byPath = info.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var selected = HubFileSelection.Select(byPath.Keys, repo);
        cache.WriteRef(revision, info.Commit);

        // Like hf_hub_download with a commit hash: a file already in this snapshot needs no request at all.
        var missing = selected.Where(f => !File.Exists(cache.PointerPath(info.Commit, f))).Select(f => byPath[f])
            .OrderByDescending(f => f.Size).ToList();
        reporter.Verbose($"{repo}@{revision} is commit {info.Commit}: {selected.Count} files needed, {missing.Count} not yet in the cache at {cache.RepoFolder}.");
        long downloaded = 0;
        if (missing.Count == 0)
        {
            HubDownloadProgress.NothingToDownload(reporter, repo);
        }
        else
        {
            CheckFreeSpace(cache, missing);
            var fetcher = new HubFileFetcher(_http, cache, info) { UserCancellation = cancellationToken };
            var progress = new HubDownloadProgress(reporter, repo, missing.Sum(f => Math.Max(f.Size, 0)));
            IReadOnlyDictionary<string, string> etags;
            try
            {
                etags = await FetchAllAsync(fetcher, missing, progress, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                progress.Complete();
            }

            foreach (var (file, etag) in etags)
            {
                cache.LinkIntoSnapshot(info.Commit, file, etag);
            }

            downloaded = progress.DownloadedBytes;
        }

        return new HubSnapshot(repo, revision, info.Commit, cache.SnapshotFolder(info.Commit), selected, downloaded);
    }

    /// <summary>
    /// Fetches a few files at a time. The first real failure cancels the others and is the one rethrown (not the
    /// cancellations it caused); their cleanup has finished when this returns.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>> FetchAllAsync(HubFileFetcher fetcher, IReadOnlyList<HubFileEntry> files,
        HubDownloadProgress progress, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(Math.Max(1, _settings.MaxParallelDownloads));
        var etags = new Dictionary<string, string>(StringComparer.Ordinal);
        Exception? firstFailure = null;
        var tasks = files.Select(async file =>
        {
            try
            {
                await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                try
                {
                    string etag = await fetcher.FetchAsync(file, progress, failed.Token).ConfigureAwait(false);
                    lock (etags)
                    {
                        etags[file.Path] = etag;
                    }
                }
                finally
                {
                    slots.Release();
                }
            }
            catch (OperationCanceledException) when (failed.IsCancellationRequested)
            {
                // Cancelled by the user or because another file failed: reported below.
            }
            catch (Exception error)
            {
                Interlocked.CompareExchange(ref firstFailure, error, null);
                await failed.CancelAsync().ConfigureAwait(false);
            }
        }).ToList();
        await Task.WhenAll(tasks).ConfigureAwait(false);

        if (firstFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(firstFailure).Throw();
        }

        cancellationToken.ThrowIfCancellationRequested();
        return etags;
    }

    /// <summary>Resolves a revision to its commit and lists the repository's files with sizes and hashes.</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(HubRepoId repo, string revision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var url = new Uri(_settings.Endpoint, $"api/models/{repo.Value}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        return await _http.RetryAsync(repo, "list the repository files", async stall =>
        {
            using var response = await _http.SendAsync(HttpMethod.Get, url, 0, followAbsoluteRedirects: false, stall.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = HubErrors.FromStatus(response.StatusCode, HubFileFetcher.Header(response, "X-Error-Code"),
                    HubFileFetcher.Header(response, "X-Error-Message"), repo, revision, null, _http.SendsTokenTo(url), _settings.Endpoint);
                throw HubErrors.IsTransient(response.StatusCode) ? new HubTransientStatusException(error) : error;
            }

            byte[] body = await response.Content.ReadAsByteArrayAsync(stall.Token).ConfigureAwait(false);
            return ParseRepoInfo(body, repo, revision);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Model ids with a folder in the cache of <paramref name="settings"/>, for tab completion; never throws.</summary>
    public static IReadOnlyList<string> CachedModelIds(HubSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return HubCache.CachedModelIds(settings.CacheDirectory);
    }

    /// <summary>-LowMemoryUsage: removes a snapshot's weight files and blobs once compiled; returns the bytes freed.</summary>
    public long RemoveWeights(HubSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new HubCache(_settings.CacheDirectory, snapshot.Repo).RemoveWeights(snapshot.Commit);
    }

    internal static HubRepoInfo ParseRepoInfo(byte[] body, HubRepoId repo, string revision)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            string commit = HubPaths.CheckCommit(root.TryGetProperty("sha", out var sha) ? sha.GetString() : null, repo);
            var files = new List<HubFileEntry>();
            if (root.TryGetProperty("siblings", out var siblings))
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    string path = HubPaths.CheckFileName(sibling.GetProperty("rfilename").GetString(), repo);
                    string? lfsSha256 = null;
                    long size = sibling.TryGetProperty("size", out var sizeElement) ? sizeElement.GetInt64() : -1;
                    if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                    {
                        lfsSha256 = lfs.GetProperty("sha256").GetString();
                        size = lfs.TryGetProperty("size", out var lfsSize) ? lfsSize.GetInt64() : size;
                    }

                    string? blobId = sibling.TryGetProperty("blobId", out var blob) ? blob.GetString() : null;
                    files.Add(new HubFileEntry(path, size, blobId, lfsSha256));
                }
            }

            return new HubRepoInfo(repo, revision, commit, files);
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new HdxException("HubInvalidResponse", HdxErrorKind.InvalidData,
                $"The Hub's description of '{repo}' at '{revision}' is not valid: {error.Message}", repo.Value,
                "Check HF_ENDPOINT: the server is not behaving like the Hugging Face Hub.", error);
        }
    }

    /// <summary>A cached snapshot of the revision with config and weights, or null.</summary>
    private static HubSnapshot? TryFromCache(HubCache cache, string revision)
    {
        string? commit = cache.ResolveOffline(revision);
        if (commit is null)
        {
            return null;
        }

        try
        {
            var selected = HubFileSelection.Select(cache.SnapshotFiles(commit), cache.Repo);
            return new HubSnapshot(cache.Repo, revision, commit, cache.SnapshotFolder(commit), selected, 0);
        }
        catch (HdxException)
        {
            return null; // an incomplete snapshot (only some files, or weights removed by -LowMemoryUsage)
        }
    }

    private static HubSnapshot FromCacheOnly(HubCache cache, string revision)
    {
        return TryFromCache(cache, revision) ?? throw new HdxException("HubOfflineCacheMiss", HdxErrorKind.NotFound,
                $"Offline mode (-Offline or HF_HUB_OFFLINE) is on and '{cache.Repo}' at revision '{revision}' is not complete in the Hugging Face cache at '{cache.RepoFolder}'.",
                cache.Repo.Value,
                "Run the command once without -Offline (and with HF_HUB_OFFLINE unset) to download it, or point HF_HUB_CACHE at a cache that has it.");
    }

    /// <summary>Fails before downloading when the blobs still missing (less what .incomplete files hold) cannot fit.</summary>
    private void CheckFreeSpace(HubCache cache, IReadOnlyList<HubFileEntry> missing)
    {
        long needed = 0;
        foreach (var file in missing)
        {
            string? etag = file.LfsSha256 ?? file.BlobId;
            string? blob = etag is null ? null : cache.BlobPath(HubPaths.CheckEtag(etag, cache.Repo, file.Path));
            if (blob is null || !File.Exists(blob))
            {
                var partial = blob is null ? null : new FileInfo(blob + ".incomplete");
                needed += Math.Max(file.Size, 0) - (partial is { Exists: true } ? partial.Length : 0);
            }
        }

        Directory.CreateDirectory(cache.RepoFolder);
        long available = new DriveInfo(cache.RepoFolder).AvailableFreeSpace;
        if (available < needed)
        {
            throw new HdxException("HubDiskFull", HdxErrorKind.WriteError,
                $"Downloading '{cache.Repo}' needs {HubDownloadProgress.FormatBytes(needed)} but only {HubDownloadProgress.FormatBytes(available)} is free at '{_settings.CacheDirectory}'.",
                _settings.CacheDirectory, "Free space there, or point HF_HUB_CACHE (or HF_HOME) at a larger volume.");
        }
    }

    public void Dispose() => _http.Dispose();
}
