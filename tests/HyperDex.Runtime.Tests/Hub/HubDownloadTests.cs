using System.Security.Cryptography;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using HyperDex.TestTools.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubDownloadTests
{
    /// <summary>A repository holding a complete generated model (weights, config, tokenizer) and files HyperDex skips.</summary>
    private static HubTestRepo Stories(string id = "test-org/tiny")
    {
        using var folder = new Engine.TempFolder();
        TinyModel.Write(folder.Path, new TinyModelSpec());
        return new HubTestRepo(id).AddFolder(folder.Path).AddUnneededFiles();
    }

    [Fact]
    public async Task DownloadsAModelIntoTheHuggingFaceCacheLayout()
    {
        var repo = Stories();
        using var hub = new HubTestContext(repo);

        var snapshot = await hub.DownloadAsync("test-org/tiny");

        string folder = hub.RepoFolder("test-org/tiny");
        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.Equal(Path.Combine(folder, "snapshots", repo.Commit), snapshot.Path);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(folder, "refs", "main")));
        Assert.Equal(
            ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"],
            snapshot.Files.Order(StringComparer.Ordinal));
        Assert.Equal(snapshot.Files.Order(StringComparer.Ordinal),
            Directory.EnumerateFiles(snapshot.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string name in snapshot.Files)
        {
            var expected = repo.Find(name)!;
            var link = new FileInfo(Path.Combine(snapshot.Path, name));
            // A relative symlink into blobs/, named by the etag (sha256 for LFS files, the git blob id otherwise).
            Assert.Equal(Path.Combine("..", "..", "blobs", expected.Etag), link.LinkTarget);
            Assert.Equal(expected.Content, File.ReadAllBytes(link.FullName));
        }

        Assert.Equal(repo.Files.Where(f => snapshot.Files.Contains(f.Path)).Sum(f => (long)f.Content.Length), snapshot.DownloadedBytes);
        Assert.Empty(hub.PartialFiles());
        // Nothing unneeded was even asked for.
        Assert.DoesNotContain(hub.Server.Requests, r => r.Path.Contains("pytorch_model.bin", StringComparison.Ordinal) || r.Path.Contains("onnx", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASecondDownloadIsServedFromTheCacheWithoutFileRequests()
    {
        using var hub = new HubTestContext(Stories());
        await hub.DownloadAsync("test-org/tiny");
        int before = hub.Server.Requests.Count;

        var again = await hub.DownloadAsync("test-org/tiny");

        Assert.Equal(0, again.DownloadedBytes);
        var newRequests = hub.Server.Requests.Skip(before).ToList();
        Assert.Single(newRequests);
        Assert.StartsWith("/api/models/test-org/tiny/revision/main", newRequests[0].Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReusesABlobAlreadyInTheCacheAndOnlyLinksIt()
    {
        var repo = HubTestRepo.Generated("test-org/gen", 300_000);
        using var hub = new HubTestContext(repo);
        var weights = repo.Find("model.safetensors")!;
        string blobs = Path.Combine(hub.RepoFolder("test-org/gen"), "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, weights.Sha256), weights.Content); // as Python's hf_hub_download leaves it

        var snapshot = await hub.DownloadAsync("test-org/gen");

        Assert.DoesNotContain(hub.Server.Requests, r => r.Cdn);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Path, "model.safetensors")));
    }

    [Fact]
    public async Task ResumesWithARangeRequestAfterTheConnectionDropsHalfway()
    {
        var repo = HubTestRepo.Generated("test-org/big", 6_000_000);
        using var hub = new HubTestContext(repo);
        hub.Server.Faults.DropHalfway("model.safetensors");

        var snapshot = await hub.DownloadAsync("test-org/big");

        var cdn = hub.Server.Requests.Where(r => r.Cdn).ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Null(cdn[0].Range);
        Assert.Matches(@"^bytes=[1-9]\d*-$", cdn[1].Range);
        Assert.Equal(SHA256.HashData(repo.Find("model.safetensors")!.Content), SHA256.HashData(File.ReadAllBytes(Path.Combine(snapshot.Path, "model.safetensors"))));
        Assert.Empty(hub.PartialFiles());
    }

    [Fact]
    public async Task ResumesAnIncompleteFileLeftByAnEarlierRun()
    {
        var repo = HubTestRepo.Generated("test-org/big", 2_000_000);
        using var hub = new HubTestContext(repo);
        var weights = repo.Find("model.safetensors")!;
        string blobs = Path.Combine(hub.RepoFolder("test-org/big"), "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, weights.Sha256 + ".incomplete"), weights.Content[..750_000]);

        var snapshot = await hub.DownloadAsync("test-org/big");

        Assert.Equal("bytes=750000-", Assert.Single(hub.Server.Requests, r => r.Cdn).Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Path, "model.safetensors")));
        long smallFiles = repo.Files.Where(f => !f.Lfs).Sum(f => (long)f.Content.Length);
        Assert.Equal(2_000_000 - 750_000 + smallFiles, snapshot.DownloadedBytes);
    }

    [Fact]
    public async Task StartsOverWhenTheServerIgnoresTheRange()
    {
        var repo = HubTestRepo.Generated("test-org/norange", 1_000_000);
        using var hub = new HubTestContext(repo);
        var weights = repo.Find("model.safetensors")!;
        string blobs = Path.Combine(hub.RepoFolder("test-org/norange"), "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, weights.Sha256 + ".incomplete"), weights.Content[..300_000]);
        hub.Server.Faults.IgnoreRange = true;

        var snapshot = await hub.DownloadAsync("test-org/norange");

        Assert.Equal("bytes=300000-", Assert.Single(hub.Server.Requests, r => r.Cdn).Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Path, "model.safetensors")));
    }

    [Fact]
    public async Task CorruptBytesFailTheChecksumAndLeaveNothingInSnapshots()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/bad", 500_000));
        hub.Server.Faults.Corrupt("model.safetensors");

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/bad"));

        Assert.Equal("HubChecksumMismatch", error.ErrorId);
        Assert.Equal(HdxErrorKind.InvalidData, error.Kind);
        string snapshots = Path.Combine(hub.RepoFolder("test-org/bad"), "snapshots");
        Assert.True(!Directory.Exists(snapshots) || !Directory.EnumerateFileSystemEntries(snapshots, "*", SearchOption.AllDirectories).Any(e => File.Exists(e)));
        Assert.Empty(hub.PartialFiles());
        Assert.False(File.Exists(Path.Combine(hub.RepoFolder("test-org/bad"), "blobs", HubTestRepo.Generated("x", 500_000).Find("model.safetensors")!.Sha256)));
    }

    [Fact]
    public async Task SendsTheTokenToTheHubButNeverToTheCdn()
    {
        var repo = HubTestRepo.Generated("test-org/private", 200_000);
        repo.Private = true;
        using var hub = new HubTestContext(repo);
        hub.Server.ValidTokens.Add("hf_secret_token_value");

        await hub.DownloadAsync("test-org/private", token: "hf_secret_token_value");

        var requests = hub.Server.Requests;
        Assert.Contains(requests, r => r.Cdn);
        Assert.All(requests.Where(r => !r.Cdn), r => Assert.True(r.HadAuthorization, r.Path));
        Assert.All(requests.Where(r => r.Cdn), r => Assert.False(r.HadAuthorization, r.Path));
    }

    [Fact]
    public async Task FollowsTheRelativeRedirectOfARenamedRepository()
    {
        var repo = HubTestRepo.Generated("test-org/new-name", 100_000);
        using var hub = new HubTestContext(repo);
        hub.Server.Rename("test-org/old-name", "test-org/new-name");

        var snapshot = await hub.DownloadAsync("test-org/old-name");

        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.True(File.Exists(Path.Combine(hub.RepoFolder("test-org/old-name"), "snapshots", repo.Commit, "model.safetensors")));
    }

    [Fact]
    public async Task RetriesServerErrorsWithBackoffAndThenSucceeds()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/flaky", 50_000));
        hub.Server.Faults.FailNext(2);

        var snapshot = await hub.DownloadAsync("test-org/flaky");

        Assert.Equal(3, snapshot.Files.Count);
    }

    [Fact]
    public async Task GivesUpAfterTheBoundedNumberOfAttempts()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/down", 50_000));
        hub.Server.Faults.FailNext(1000);

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/down"));

        Assert.Equal("HubConnectionFailed", error.ErrorId);
        Assert.Equal(HdxErrorKind.ConnectionError, error.Kind);
        Assert.Equal(3, hub.Server.Requests.Count); // MaxAttempts in the test settings
    }

    [Fact]
    public async Task AnUnreachableEndpointIsAConnectionError()
    {
        var hub = new HubTestContext();
        var settings = hub.Settings();
        hub.Dispose(); // nothing listens on the port any more

        using var client = new HyperDex.Runtime.Hub.HubClient(settings);
        var error = await Assert.ThrowsAsync<HdxException>(() => client.DownloadModelAsync("test-org/none", "main", NullReporter.Instance, CancellationToken.None));

        Assert.Equal("HubConnectionFailed", error.ErrorId);
        Assert.Contains("after 3 attempts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancellingASlowDownloadStopsPromptlyAndKeepsThePartialFileForTheNextRun()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/slow", 4_000_000));
        hub.Server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(50); // about 12 s for the whole file
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hub.DownloadAsync("test-org/slow", cancellationToken: cancellation.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.False(Directory.Exists(Path.Combine(hub.RepoFolder("test-org/slow"), "snapshots")));
        Assert.Contains(hub.Server.Requests, r => r.Cdn); // it was really downloading when cancelled

        // Ctrl+C keeps the .incomplete (a dropped connection does too): the next run resumes instead of starting at 0.
        string partial = Assert.Single(hub.PartialFiles(), f => f.EndsWith(".incomplete", StringComparison.Ordinal));
        long kept = new FileInfo(partial).Length;
        Assert.True(kept > 0, "nothing was kept");
        hub.Server.Faults.ChunkDelay = TimeSpan.Zero;
        await hub.DownloadAsync("test-org/slow");
        Assert.Contains(hub.Server.Requests, r => r.Cdn && r.Range == $"bytes={kept}-");
        Assert.Empty(hub.PartialFiles());
    }

    [Fact]
    public async Task ReportsBytesRateAndEtaFromTheWorkers()
    {
        var repo = HubTestRepo.Generated("test-org/progress", 3_000_000);
        using var hub = new HubTestContext(repo);
        hub.Server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(5);
        var reporter = new RecordingReporter();

        await hub.DownloadAsync("test-org/progress", reporter: reporter);

        var records = reporter.ProgressRecords;
        Assert.True(records[^1].Completed);
        var running = records.Where(r => !r.Completed).ToList();
        Assert.Contains(running, r => r.Status.Contains(" of 2.9 MiB at ", StringComparison.Ordinal) && r.SecondsRemaining >= 0 && r.PercentComplete is > 0 and < 100);
        Assert.Contains(running, r => r.CurrentOperation == "model.safetensors");
        Assert.Equal("Downloading test-org/progress", records[0].Activity);
    }

    [Fact]
    public async Task TheFirstRealFailureIsReportedNotTheCancellationsItCauses()
    {
        var repo = HubTestRepo.Generated("test-org/two", 3_000_000).AddFile("tokenizer.model", new byte[400_000]);
        using var hub = new HubTestContext(repo);
        hub.Server.Faults.Corrupt("tokenizer.model");
        hub.Server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(2);

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/two"));

        Assert.Equal("HubChecksumMismatch", error.ErrorId);
        Assert.Contains("tokenizer.model", error.Message, StringComparison.Ordinal);
        Assert.Empty(hub.PartialFiles());
    }

    [Fact]
    public async Task AStalledTransferTimesOutRetriesAndKeepsItsBytesForTheNextRun()
    {
        var repo = HubTestRepo.Generated("test-org/stall", 200_000);
        using var hub = new HubTestContext(repo);
        hub.Server.Faults.ChunkDelay = TimeSpan.FromSeconds(3); // one 16 KiB chunk, then silence
        var settings = new HyperDex.Runtime.Hub.HubSettings(hub.Server.Endpoint, hub.CacheDirectory)
        {
            MaxAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            StallTimeout = TimeSpan.FromMilliseconds(400),
        };

        using (var client = new HyperDex.Runtime.Hub.HubClient(settings))
        {
            var error = await Assert.ThrowsAsync<HdxException>(() => client.DownloadModelAsync("test-org/stall", "main", NullReporter.Instance, CancellationToken.None));
            Assert.Equal("HubConnectionFailed", error.ErrorId);
        }

        var weights = repo.Find("model.safetensors")!;
        var partial = new FileInfo(Path.Combine(hub.RepoFolder("test-org/stall"), "blobs", weights.Sha256 + ".incomplete"));
        Assert.True(partial.Exists);
        Assert.Equal(2 * 16 * 1024, partial.Length); // the second attempt resumed after the first chunk
        Assert.Equal(weights.Content[..(int)partial.Length], File.ReadAllBytes(partial.FullName));

        hub.Server.Faults.ChunkDelay = TimeSpan.Zero;
        var snapshot = await hub.DownloadAsync("test-org/stall");

        Assert.Equal($"bytes={partial.Length}-", hub.Server.Requests.Last(r => r.Cdn).Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(snapshot.Path, "model.safetensors")));
    }

    [Fact]
    public async Task TwoClientsDownloadingTheSameModelShareTheBlobsSafely()
    {
        var repo = HubTestRepo.Generated("test-org/shared", 3_000_000);
        using var hub = new HubTestContext(repo);
        hub.Server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(1);

        var results = await Task.WhenAll(hub.DownloadAsync("test-org/shared"), hub.DownloadAsync("test-org/shared"));

        Assert.Equal(results[0].Path, results[1].Path);
        Assert.Equal(repo.Find("model.safetensors")!.Content, File.ReadAllBytes(Path.Combine(results[0].Path, "model.safetensors")));
        Assert.Single(Directory.GetFiles(Path.Combine(hub.RepoFolder("test-org/shared"), "blobs")), f => new FileInfo(f).Length == 3_000_000);
        Assert.Empty(hub.PartialFiles());
    }

    [Fact]
    public async Task ReadsACacheLaidOutByPythonTools()
    {
        // What huggingface_hub leaves: blobs named by etag, relative symlinks in snapshots/<commit>, refs/main.
        var repo = HubTestRepo.Generated("test-org/python", 10_000);
        using var hub = new HubTestContext();
        string folder = hub.RepoFolder("test-org/python");
        string snapshot = Path.Combine(folder, "snapshots", repo.Commit);
        Directory.CreateDirectory(Path.Combine(folder, "blobs"));
        Directory.CreateDirectory(Path.Combine(folder, "refs"));
        Directory.CreateDirectory(snapshot);
        File.WriteAllText(Path.Combine(folder, "refs", "main"), repo.Commit);
        foreach (var file in repo.Files)
        {
            File.WriteAllBytes(Path.Combine(folder, "blobs", file.Etag), file.Content);
            File.CreateSymbolicLink(Path.Combine(snapshot, file.Path), Path.Combine("..", "..", "blobs", file.Etag));
        }

        var offline = await hub.DownloadAsync("test-org/python", offline: true);

        Assert.Equal(snapshot, offline.Path);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer_config.json"], offline.Files.Order(StringComparer.Ordinal));
        Assert.Empty(hub.Server.Requests);
    }
}
