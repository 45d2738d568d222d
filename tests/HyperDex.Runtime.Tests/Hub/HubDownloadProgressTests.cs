using HyperDex.Runtime.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

/// <summary>What a download shows before and while bytes arrive.</summary>
public class HubDownloadProgressTests
{
    private static readonly HubRepoId Repo = HubRepoId.Parse("test-org/tiny");

    [Fact]
    public void ShowsTheListingFirstAndNoEstimateFromTheFirstFewBytes()
    {
        var reporter = new RecordingReporter();
        HubDownloadProgress.Listing(reporter, Repo, "main");
        var progress = new HubDownloadProgress(reporter, Repo, 100L << 20);
        progress.Started("model.safetensors");
        progress.Received(4096);

        Assert.Equal("Listing the files of test-org/tiny@main", reporter.ProgressRecords[0].Status);
        Assert.All(reporter.ProgressRecords, p => Assert.Equal(-1, p.SecondsRemaining));
    }

    [Fact]
    public void SaysWhenItVerifiesTheBytesOfAResumedFile()
    {
        var reporter = new RecordingReporter();
        var progress = new HubDownloadProgress(reporter, Repo, 1000);
        progress.Note("verifying the 500 B of model.safetensors downloaded before");
        Assert.StartsWith("verifying the 500 B of model.safetensors downloaded before: 0 B of 1000 B", reporter.ProgressRecords[^1].Status, StringComparison.Ordinal);
        progress.Note(null);
        Assert.StartsWith("0 B of 1000 B", reporter.ProgressRecords[^1].Status, StringComparison.Ordinal);
    }
}
