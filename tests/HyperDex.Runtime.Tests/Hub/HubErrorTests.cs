using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;
using HyperDex.TestTools.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubErrorTests
{
    private const string Token = "hf_TestTokenThatMustNeverBePrinted";

    private static HubTestContext Hub()
    {
        var open = HubTestRepo.Generated("test-org/open", 10_000);
        var secret = HubTestRepo.Generated("test-org/secret", 10_000);
        secret.Private = true;
        var gated = HubTestRepo.Generated("test-org/gated", 10_000);
        gated.Gated = true;
        var context = new HubTestContext(open, secret, gated);
        context.Server.ValidTokens.Add(Token);
        context.Server.ValidTokens.Add("hf_other_valid_token");
        return context;
    }

    [Theory]
    [InlineData("test-org/secret", "main", null, "HubAuthenticationRequired", HdxErrorKind.AuthenticationRequired)]
    [InlineData("test-org/secret", "main", "hf_not_a_valid_token", "HubAuthenticationFailed", HdxErrorKind.AuthenticationRequired)]
    [InlineData("test-org/gated", "main", null, "HubAuthenticationRequired", HdxErrorKind.AuthenticationRequired)]
    [InlineData("test-org/gated", "main", Token, "HubGatedModel", HdxErrorKind.PermissionDenied)]
    [InlineData("test-org/missing", "main", Token, "HubModelNotFound", HdxErrorKind.NotFound)]
    [InlineData("test-org/open", "no-such-branch", null, "HubRevisionNotFound", HdxErrorKind.NotFound)]
    public async Task EachHubRefusalHasItsOwnError(string repo, string revision, string? token, string errorId, HdxErrorKind kind)
    {
        using var hub = Hub();

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync(repo, revision, token));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(kind, error.Kind);
        Assert.NotNull(error.RecommendedAction);
        Assert.DoesNotContain("hf_", error.Message + error.RecommendedAction, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(hub.RepoFolder(repo), "snapshots")));
    }

    [Fact]
    public async Task AGatedModelSaysHowToRequestAccess()
    {
        using var hub = Hub();

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/gated", token: Token));

        Assert.Contains($"{hub.Server.Endpoint}test-org/gated", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("request access", error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGrantedTokenOpensAGatedModel()
    {
        using var hub = Hub();
        var repo = HubTestRepo.Generated("test-org/gated-ok", 10_000);
        repo.Gated = true;
        repo.GrantedTokens.Add(Token);
        hub.Server.Add(repo);

        var snapshot = await hub.DownloadAsync("test-org/gated-ok", token: Token);

        Assert.Equal(repo.Commit, snapshot.Commit);
    }

    [Fact]
    public async Task AForbiddenAnswerThatIsNotGatingIsAccessDenied()
    {
        using var hub = Hub();
        hub.Server.Faults.AnswerRepo("test-org/open", 403);

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/open"));

        Assert.Equal("HubAccessDenied", error.ErrorId);
    }

    [Theory]
    [InlineData("../escape.json")]
    [InlineData("/etc/hostname-copy")]
    [InlineData("sub/../../escape.json")]
    [InlineData("a\\..\\b")]
    public async Task AListingWithAnUnsafeFileNameIsRefusedBeforeAnyDownload(string name)
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/evil", 10_000).AddFile(name, "{}"));

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/evil"));

        Assert.Equal("HubUnsafeFileName", error.ErrorId);
        Assert.DoesNotContain(hub.Server.Requests, r => r.Path.Contains("/resolve/", StringComparison.Ordinal));
        Assert.False(Directory.Exists(hub.RepoFolder("test-org/evil")));
    }

    [Theory]
    [InlineData("not a model id")]
    [InlineData("org/name/extra")]
    [InlineData("org--x/name")]
    [InlineData("../name")]
    [InlineData("")]
    public async Task AMalformedModelIdIsAnInvalidArgument(string id)
    {
        using var hub = Hub();

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync(id));

        Assert.Equal("HubInvalidModelId", error.ErrorId);
        Assert.Empty(hub.Server.Requests);
    }

    [Theory]
    [InlineData("../../etc")]
    [InlineData("/main")]
    public async Task ARevisionThatWouldLeaveTheRefsFolderIsRefused(string revision)
    {
        using var hub = Hub();

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/open", revision));

        Assert.Equal("HubInvalidRevision", error.ErrorId);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/blob")]
    public async Task ARedirectToAnythingButHttpIsRefused(string location)
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/redirect", 10_000));
        hub.Server.Faults.LfsLocation = location;

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/redirect"));

        Assert.Equal("HubInvalidResponse", error.ErrorId);
        Assert.Empty(hub.PartialFiles());
    }

    [Fact]
    public async Task AModelLargerThanTheFreeSpaceFailsBeforeDownloading()
    {
        using var hub = new HubTestContext(HubTestRepo.Generated("test-org/huge", 10_000));
        hub.Server.Faults.ListSizeAs("model.safetensors", 1L << 50); // 1 PiB

        var error = await Assert.ThrowsAsync<HdxException>(() => hub.DownloadAsync("test-org/huge"));

        Assert.Equal("HubDiskFull", error.ErrorId);
        Assert.Contains("1024.0 TiB", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Server.Requests, r => r.Path.Contains("/resolve/", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void AFullDiskIsReportedAsSuch()
    {
        Skip.IfNot(File.Exists("/dev/full"), "needs /dev/full (Linux)");
        var error = Assert.ThrowsAny<IOException>(() =>
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write);
            full.Write(new byte[4096]);
            full.Flush();
        });

        var mapped = HubErrors.WriteFailed(HubRepoId.Parse("test-org/open"), "/cache/blob", error);

        Assert.Equal("HubDiskFull", mapped.ErrorId);
        Assert.Equal(HdxErrorKind.WriteError, mapped.Kind);
    }
}
