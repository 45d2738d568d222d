using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubSettingsTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void DefaultsFollowHuggingfaceHub()
    {
        var settings = HubSettings.FromEnvironment(environment: Env(("HOME", "/unused")));

        Assert.Equal(new Uri("https://huggingface.co/"), settings.Endpoint);
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub"), settings.CacheDirectory);
        Assert.False(settings.Offline);
    }

    [Fact]
    public void HfHomeMovesTheCacheAndTheTokenFile()
    {
        string home = Directory.CreateTempSubdirectory("hdx-hf-home-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");

            var settings = HubSettings.FromEnvironment(environment: Env(("HF_HOME", home), ("HF_ENDPOINT", "http://127.0.0.1:9/")));

            Assert.Equal(Path.Combine(home, "hub"), settings.CacheDirectory);
            Assert.Equal("hf_from_file", settings.Token);
            Assert.Equal(new Uri("http://127.0.0.1:9/"), settings.Endpoint);
            Assert.Equal("hf_from_env", HubSettings.FromEnvironment(environment: Env(("HF_HOME", home), ("HF_TOKEN", "hf_from_env"))).Token);
            Assert.Equal("hf_from_parameter", HubSettings.FromEnvironment("hf_from_parameter", environment: Env(("HF_HOME", home), ("HF_TOKEN", "hf_from_env"))).Token);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void HfHubCacheWinsOverHfHome()
    {
        var settings = HubSettings.FromEnvironment(environment: Env(("HF_HOME", "/tmp/a"), ("HF_HUB_CACHE", "/tmp/b/hub")));

        Assert.Equal("/tmp/b/hub", settings.CacheDirectory);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("ON", true)]
    [InlineData("yes", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    public void HfHubOfflineAcceptsHuggingfaceHubsTruthyValues(string value, bool offline)
    {
        Assert.Equal(offline, HubSettings.FromEnvironment(environment: Env(("HF_HUB_OFFLINE", value))).Offline);
    }

    [Fact]
    public void ABadEndpointIsAnInvalidArgument()
    {
        var error = Assert.Throws<HdxException>(() => HubSettings.FromEnvironment(environment: Env(("HF_ENDPOINT", "ftp://mirror"))));

        Assert.Equal("HubInvalidEndpoint", error.ErrorId);
    }

    [Fact]
    public void TheTokenNeverShowsInTheSettingsText()
    {
        var settings = new HubSettings(new Uri("http://127.0.0.1:9"), "/tmp/cache", "hf_secret");

        Assert.DoesNotContain("hf_secret", settings.ToString(), StringComparison.Ordinal);
        Assert.True(settings.HasToken);
    }
}
