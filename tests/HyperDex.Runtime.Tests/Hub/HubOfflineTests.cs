using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubOfflineTests
{
    [Fact]
    public async Task OfflineModeUsesTheCacheWithoutAnyRequest()
    {
        var repo = HubTestRepo.Generated("test-org/cached", 20_000);
        using var hub = new HubTestContext(repo);
        var online = await hub.DownloadAsync("test-org/cached");
        int requests = hub.Server.Requests.Count;

        var offline = await hub.DownloadAsync("test-org/cached", offline: true);
        var byCommit = await hub.DownloadAsync("test-org/cached", revision: repo.Commit, offline: true);

        Assert.Equal(online.Path, offline.Path);
        Assert.Equal(online.Files.Order(StringComparer.Ordinal), offline.Files.Order(StringComparer.Ordinal));
        Assert.Equal(online.Path, byCommit.Path);
        Assert.Equal(requests, hub.Server.Requests.Count);
    }

    [Fact]
    public async Task OfflineModeFailsClearlyWhenTheModelIsNotCached()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/cached", 20_000));

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/cached", offline: true));

        Assert.Equal("HubOfflineCacheMiss", error.ErrorId);
        Assert.Equal(HdxErrorKind.NotFound, error.Kind);
        Assert.Empty(hub.Server.Requests);
    }

    [Fact]
    public async Task OfflineModeRejectsASnapshotWhoseWeightsWereRemoved()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/cached", 20_000));
        var snapshot = await hub.DownloadAsync("test-org/cached");
        using (var client = new HyperDex.Runtime.Hub.HubClient(hub.Settings()))
        {
            Assert.Equal(20_000, client.RemoveWeights(snapshot));
        }

        Assert.False(File.Exists(Path.Combine(snapshot.Path, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(snapshot.Path, "config.json")));
        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/cached", offline: true));
        Assert.Equal("HubOfflineCacheMiss", error.ErrorId);

        // Online, the weights come back.
        var again = await hub.DownloadAsync("test-org/cached");
        Assert.Equal(20_000, again.DownloadedBytes);
        Assert.True(File.Exists(Path.Combine(again.Path, "model.safetensors")));
    }

    [Fact]
    public async Task ListsTheCachedModelIdsForCompletion()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/one", 1_000), HubTestRepo.Generated("solo", 1_000));
        await hub.DownloadAsync("test-org/one");
        await hub.DownloadAsync("solo");

        Assert.Equal(["solo", "test-org/one"], HyperDex.Runtime.Hub.HubClient.CachedModelIds(hub.Settings()));
        Assert.Empty(HyperDex.Runtime.Hub.HubClient.CachedModelIds(new HyperDex.Runtime.Hub.HubSettings(hub.Server.Endpoint, "/nonexistent/cache")));
    }

    [Fact]
    public async Task AnUnreachableHubFallsBackToTheCachedRevisionWithAWarning()
    {
        var repo = HubTestRepo.Generated("test-org/cached", 20_000);
        using var hub = new HubTestContext(repo);
        var online = await hub.DownloadAsync("test-org/cached");
        hub.Server.Faults.FailNext(1000);
        var reporter = new WarningRecorder();

        var fallback = await hub.DownloadAsync("test-org/cached", reporter: reporter);

        Assert.Equal(online.Path, fallback.Path);
        Assert.Contains(reporter.Warnings, w => w.Contains("using the cached snapshot " + repo.Commit, StringComparison.Ordinal));
        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/cached", revision: "other-branch"));
        Assert.Equal("HubConnectionFailed", error.ErrorId); // not cached: the network error stands
    }

    private sealed class WarningRecorder : HyperDex.Runtime.Diagnostics.IHdxReporter
    {
        public List<string> Warnings { get; } = [];

        public void Progress(HdxProgress progress)
        {
        }

        public void Verbose(string message)
        {
        }

        public void Warning(string message) => Warnings.Add(message);
    }
}
