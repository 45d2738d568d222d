using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// A batched step (several sequences' rows through one forward) gives each sequence the logits it gets alone: decode
/// rows of different sequences, positions and lengths, and a prefill chunk beside decode rows.
/// </summary>
public sealed class BatchedForwardTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void EachSequenceOfABatchGetsTheLogitsItGetsAlone(int numDevice)
    {
        var checkpoint = HfCheckpoint.Random(seed: 21);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), blockSize: 4, numDevices: [numDevice]);
        using var engine = HostEngine.Load(model, numDevice, new HostEngineOptions { KvSequences = 8, PrefixCacheBytes = 0 });
        int[][] prompts = [[1, 17, 200, 33, 5], [1, 90], [1, 45, 3, 250, 128, 64, 7, 99, 12]];

        // Alone: each prompt, then three greedy steps.
        var alone = prompts.Select(p => Greedy(engine, p, 3)).ToArray();

        // Together: the first two prompts prefilled alone, then every step batched; the third prompt joins as a prefill
        // chunk beside the others' first decode step.
        var sequences = prompts.Select(p => engine.CreateSequence(p.Length + 4)).ToArray();
        var logits = prompts.Select(_ => new float[engine.VocabSize]).ToArray();
        var next = new int[3];
        var produced = prompts.Select(_ => new List<(int Token, float[] Logits)>()).ToArray();
        for (int i = 0; i < 2; i++)
        {
            engine.Forward(sequences[i], prompts[i], logits[i]);
            next[i] = Sampler.ArgMax(logits[i]);
            produced[i].Add((next[i], (float[])logits[i].Clone()));
        }

        engine.Forward([
            new BatchItem(sequences[0], new[] { next[0] }, logits[0]),
            new BatchItem(sequences[2], prompts[2], logits[2]),
            new BatchItem(sequences[1], new[] { next[1] }, logits[1]),
        ]);
        for (int i = 0; i < 3; i++)
        {
            next[i] = Sampler.ArgMax(logits[i]);
            produced[i].Add((next[i], (float[])logits[i].Clone()));
        }

        while (produced.Any(p => p.Count < 4))
        {
            var items = Enumerable.Range(0, 3).Where(i => produced[i].Count < 4).Select(i => new BatchItem(sequences[i], new[] { next[i] }, logits[i])).ToList();
            engine.Forward(items);
            foreach (var i in Enumerable.Range(0, 3).Where(i => produced[i].Count < 4))
            {
                next[i] = Sampler.ArgMax(logits[i]);
                produced[i].Add((next[i], (float[])logits[i].Clone()));
            }
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(alone[i].Select(s => s.Token), produced[i].Take(alone[i].Count).Select(s => s.Token));
            for (int s = 0; s < alone[i].Count; s++)
            {
                float worst = alone[i][s].Logits.Zip(produced[i][s].Logits, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(worst < 1e-4, $"sequence {i}, step {s}: batched logits differ by {worst}");
            }

            sequences[i].Dispose();
        }
    }

    [Fact]
    public void RefusesTheSameSequenceTwiceInOneBatch()
    {
        string model = TestCompiledModel.Write(HfCheckpoint.Random(seed: 3), _temp.Sub("m"), numDevices: [1]);
        using var engine = HostEngine.Load(model, 1);
        using var sequence = engine.CreateSequence(8);
        var logits = new float[engine.VocabSize];
        var error = Assert.Throws<HyperDex.Runtime.Diagnostics.HdxException>(() =>
            engine.Forward([new BatchItem(sequence, new[] { 1 }, logits), new BatchItem(sequence, new[] { 2 }, logits)]));
        Assert.Equal("SequenceInBatchTwice", error.ErrorId);
    }

    /// <summary>Greedy tokens of a sequence run alone, with the logits each was chosen from.</summary>
    private static List<(int Token, float[] Logits)> Greedy(HostEngine engine, int[] prompt, int steps)
    {
        var tokens = EngineTestHelpers.Greedy(engine, prompt, steps + 1);
        var logits = EngineTestHelpers.Run(engine, prompt, tokens.Take(steps).ToArray());
        return tokens.Zip(logits, (token, l) => (token, l)).ToList();
    }
}
