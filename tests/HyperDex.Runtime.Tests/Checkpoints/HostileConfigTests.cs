using System.Diagnostics;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

/// <summary>config.json is untrusted: dimensions bounded by the weights before anything is sized, and unreadable files are ErrorIds.</summary>
public sealed class HostileConfigTests : IDisposable
{
    private readonly string _model = Path.Combine(Directory.CreateTempSubdirectory("hdx-config-").FullName, "model");

    public HostileConfigTests() => TinyModel.Write(_model, new TinyModelSpec());

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_model)!, recursive: true);

    private string Config => Path.Combine(_model, "config.json");

    private string OpenFails()
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetTotalAllocatedBytes();
        var error = Assert.Throws<HdxException>(() => ModelSource.Open(_model, scanNonFinite: false, CancellationToken.None).Dispose());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.True(GC.GetTotalAllocatedBytes() - before < 256L << 20, "allocated before refusing");
        return error.ErrorId;
    }

    [Theory]
    [InlineData("num_hidden_layers", 2147483647L)]
    [InlineData("hidden_size", 1L << 20)]
    [InlineData("intermediate_size", 2147483647L)]
    [InlineData("vocab_size", 2147483647L)]
    [InlineData("num_attention_heads", -4L)]
    public void ADimensionNoCheckpointCouldHoldFailsFast(string key, long value)
    {
        var config = JsonNode.Parse(File.ReadAllText(Config))!;
        config[key] = value;
        File.WriteAllText(Config, config.ToJsonString());
        Assert.Equal("ConfigDimensionOutOfRange", OpenFails());
    }

    [Fact]
    public void AConfigSymlinkLoopIsUnreadable()
    {
        File.Delete(Config);
        File.CreateSymbolicLink(Config, Path.Combine(_model, "loop.json"));
        File.CreateSymbolicLink(Path.Combine(_model, "loop.json"), Config);
        Assert.Equal("ConfigUnreadable", OpenFails());
    }

    [Fact]
    public void AConfigFifoIsUnreadableWithoutBlocking()
    {
        File.Delete(Config);
        Assert.True(Process.Start("mkfifo", [Config])!.WaitForExit(10_000));
        var open = Task.Run(OpenFails);
        Assert.True(open.Wait(TimeSpan.FromSeconds(20)), "blocked on a FIFO");
        Assert.Equal("ConfigUnreadable", open.Result);
    }
}
