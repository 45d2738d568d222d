using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>Runs alone (no other test allocating meanwhile), since allocations are counted process-wide across the workers.</summary>
[CollectionDefinition(nameof(DecodeAllocationTests), DisableParallelization = true)]
public sealed class DecodeAllocationCollection : ICollectionFixture<StoriesModel>
{
}

[Collection(nameof(DecodeAllocationTests))]
public sealed class DecodeAllocationTests
{
    private readonly StoriesModel _model;

    public DecodeAllocationTests(StoriesModel model) => _model = model;

    [SkippableFact]
    public void DecodeStepsDoNotAllocate()
    {
        using var model = LoadedModel.Load(_model.Path, 2);
        var engine = model.Engine;
        using var sequence = engine.CreateSequence(100);
        var logits = new float[engine.VocabSize];
        int[] step = [1];
        engine.Forward(sequence, step, logits);
        for (int i = 0; i < 5; i++)
        {
            engine.Forward(sequence, step, logits); // warm up every code path
        }

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 50; i++)
        {
            engine.Forward(sequence, step, logits);
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < 1024, $"50 decode steps allocated {allocated} bytes");
    }

}
