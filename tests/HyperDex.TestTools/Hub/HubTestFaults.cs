namespace HyperDex.TestTools.Hub;

/// <summary>Faults a <see cref="HubTestServer"/> injects; change them at any time from the test thread.</summary>
public sealed class HubTestFaults
{
    private readonly object _gate = new();
    private readonly Dictionary<string, int> _drops = new(StringComparer.Ordinal);
    private readonly HashSet<string> _corrupt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Status, string? ErrorCode)> _repoStatus = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _listedSizes = new(StringComparer.Ordinal);
    private int _failNext;

    /// <summary>The next <paramref name="times"/> downloads of <paramref name="path"/> send half of their body, then reset the connection.</summary>
    public void DropHalfway(string path, int times = 1)
    {
        lock (_gate)
        {
            _drops[path] = times;
        }
    }

    /// <summary>Every download of <paramref name="path"/> has one byte flipped in the middle (the listing keeps the true hash).</summary>
    public void Corrupt(string path)
    {
        lock (_gate)
        {
            _corrupt.Add(path);
        }
    }

    /// <summary>Every request about <paramref name="repo"/> is answered with this status and X-Error-Code.</summary>
    public void AnswerRepo(string repo, int status, string? errorCode = null)
    {
        lock (_gate)
        {
            _repoStatus[repo] = (status, errorCode);
        }
    }

    /// <summary>The API listing claims <paramref name="path"/> has <paramref name="size"/> bytes (a model too large for the disk).</summary>
    public void ListSizeAs(string path, long size)
    {
        lock (_gate)
        {
            _listedSizes[path] = size;
        }
    }

    internal long ListedSize(HubTestFile file)
    {
        lock (_gate)
        {
            return _listedSizes.TryGetValue(file.Path, out long size) ? size : file.Content.Length;
        }
    }

    /// <summary>The next <paramref name="count"/> requests are answered 503 (a retry with backoff must get through).</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    /// <summary>Range headers are ignored: every download answers 200 with the whole file, as some proxies do.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>When set, LFS files redirect here instead of to the CDN (a hostile or broken server).</summary>
    public string? LfsLocation { get; set; }

    /// <summary>Bodies are sent in 16 KiB chunks with this pause between them (zero: at full speed).</summary>
    public TimeSpan ChunkDelay { get; set; }

    internal bool TakeDrop(string path)
    {
        lock (_gate)
        {
            if (_drops.TryGetValue(path, out int left) && left > 0)
            {
                _drops[path] = left - 1;
                return true;
            }

            return false;
        }
    }

    internal bool IsCorrupt(string path)
    {
        lock (_gate)
        {
            return _corrupt.Contains(path);
        }
    }

    internal (int Status, string? ErrorCode)? RepoStatus(string repo)
    {
        lock (_gate)
        {
            return _repoStatus.TryGetValue(repo, out var answer) ? answer : null;
        }
    }

    internal bool TakeFailure()
    {
        while (true)
        {
            int left = Volatile.Read(ref _failNext);
            if (left <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _failNext, left - 1, left) == left)
            {
                return true;
            }
        }
    }
}
