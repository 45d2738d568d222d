using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>Runs alone, so nothing else shares the measured thread's work.</summary>
[CollectionDefinition(nameof(DecodeAllocationTests), DisableParallelization = true)]
public sealed class DecodeAllocationCollection : ICollectionFixture<GeneratedModel>
{
}

[Collection(nameof(DecodeAllocationTests))]
public sealed class DecodeAllocationTests
{
    private readonly GeneratedModel _model;

    public DecodeAllocationTests(GeneratedModel model) => _model = model;

    [Fact]
    public void DecodeStepsDoNotAllocate()
    {
        // One thread does all the work, so the caller thread's allocation counter sees every allocation of a step.
        using var model = LoadedModel.Load(_model.Path, 1, new HostEngineOptions { ThreadsPerDevice = 1 });
        var engine = model.Engine;
        using var sequence = engine.CreateSequence(100);
        var logits = new float[engine.VocabSize];
        int[] step = [1];
        engine.Forward(sequence, step, logits);
        for (int i = 0; i < 5; i++)
        {
            engine.Forward(sequence, step, logits); // warm up every code path
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            engine.Forward(sequence, step, logits);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"50 decode steps allocated {allocated} bytes");
    }

}
