using HyperDex.Runtime.Engine;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// The real pretrained stories260K, laid out by the test contract writer: greedy from BOS must reproduce the original C
/// implementation's 200 tokens on every device count, and the scalar reference must agree on the first steps.
/// </summary>
public sealed class Stories260KEngineTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void GreedyFromBosReproducesTheReferenceTokens(int numDevice)
    {
        string folder = SharedData.Require("models/stories260K");
        int[] expected = File.ReadAllText(Path.Combine(folder, "expected_token_ids.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var checkpoint = HfCheckpoint.Read(folder);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), numDevices: [numDevice], maxLength: 512);
        using var engine = HostEngine.Load(model, numDevice);
        Assert.Equal(expected, EngineTestHelpers.Greedy(engine, [1], expected.Length));
    }

    [SkippableFact]
    public void LogitsMatchTheScalarReference()
    {
        string folder = SharedData.Require("models/stories260K");
        var checkpoint = HfCheckpoint.Read(folder);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), numDevices: [2], maxLength: 512);
        using var engine = HostEngine.Load(model, 2);
        int[] prompt = [1, 403, 407, 261, 378];
        var steps = EngineTestHelpers.Run(engine, prompt, [300, 28]);
        var reference = new ScalarLlama(checkpoint);
        Assert.True(EngineTestHelpers.RelativeError(steps[^1], reference.Logits([.. prompt, 300, 28])) < 1e-4);
    }
}
