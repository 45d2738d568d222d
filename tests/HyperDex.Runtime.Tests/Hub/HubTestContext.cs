using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;
using HyperDex.TestTools.Hub;

namespace HyperDex.Runtime.Tests.Hub;

/// <summary>A fake Hub on loopback plus an empty cache folder, torn down after each test.</summary>
internal sealed class HubTestContext : IDisposable
{
    public HubTestContext(params HubTestRepo[] repos)
    {
        Server = new HubTestServer(repos);
        CacheDirectory = Directory.CreateTempSubdirectory("hdx-hub-test-").FullName;
    }

    public HubTestServer Server { get; }

    public string CacheDirectory { get; }

    public HubSettings Settings(string? token = null, bool offline = false, int maxAttempts = 3) =>
        new(Server.Endpoint, CacheDirectory, token, offline)
        {
            MaxAttempts = maxAttempts,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(50),
            StallTimeout = TimeSpan.FromSeconds(5),
        };

    public async Task<HubSnapshot> DownloadAsync(string repo, string revision = "main", string? token = null, bool offline = false,
        IHdxReporter? reporter = null, CancellationToken cancellationToken = default)
    {
        using var client = new HubClient(Settings(token, offline));
        return await client.DownloadModelAsync(repo, revision, reporter ?? NullReporter.Instance, cancellationToken);
    }

    public string RepoFolder(string repo) => Path.Combine(CacheDirectory, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));

    /// <summary>Every file under the cache whose name says it is a partial download.</summary>
    public IEnumerable<string> PartialFiles() =>
        Directory.EnumerateFiles(CacheDirectory, "*", SearchOption.AllDirectories).Where(f => f.EndsWith(".incomplete", StringComparison.Ordinal) || f.Contains(".tmp-", StringComparison.Ordinal));

    public void Dispose()
    {
        Server.Dispose();
        Directory.Delete(CacheDirectory, recursive: true);
    }
}

/// <summary>Collects what the client reports, from any thread.</summary>
internal sealed class RecordingReporter : IHdxReporter
{
    private readonly List<HdxProgress> _progress = [];

    public IReadOnlyList<HdxProgress> ProgressRecords
    {
        get
        {
            lock (_progress)
            {
                return [.. _progress];
            }
        }
    }

    public void Progress(HdxProgress progress)
    {
        lock (_progress)
        {
            _progress.Add(progress);
        }
    }

    public void Verbose(string message)
    {
    }

    public void Warning(string message)
    {
    }
}
