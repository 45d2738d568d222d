using System.Security.Cryptography;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubDownloadTests
{
    private static HubTestRepo Stories(string id = "test-org/tiny") =>
        new HubTestRepo(id).AddFolder(SharedData.Require("models/stories260K")).AddUnneededFiles();

    [SkippableFact]
    public async Task DownloadsTheRealModelIntoTheHuggingFaceCacheLayout()
    {
        var repo = Stories();
        using var hub = new HubTestContext(repo);

        var snapshot = await hub.DownloadAsync("test-org/tiny");

        string folder = hub.RepoFolder("test-org/tiny");
        Assert.Equal(repo.Commit, snapshot.Commit);
        Assert.Equal(Path.Combine(folder, "snapshots", repo.Commit), snapshot.Path);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(folder, "refs", "main")));
        Assert.Equal(
            ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.model", "tokenizer_config.json"],
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

    [SkippableFact]
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
    public async Task CancellingASlowDownloadStopsPromptlyAndLeavesNoPartialFiles()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/slow", 4_000_000));
        hub.Server.Faults.ChunkDelay = TimeSpan.FromMilliseconds(50); // about 12 s for the whole file
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hub.DownloadAsync("test-org/slow", cancellationToken: cancellation.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.Empty(hub.PartialFiles());
        Assert.False(Directory.Exists(Path.Combine(hub.RepoFolder("test-org/slow"), "snapshots")));
        Assert.Contains(hub.Server.Requests, r => r.Cdn); // it was really downloading when cancelled
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
}
