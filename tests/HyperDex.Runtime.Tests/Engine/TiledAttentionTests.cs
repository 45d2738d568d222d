using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Engine.Kernels;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// Prefill attention in tiles, then decode steps through the vectorised block kernels, against the scalar
/// reference; flips the portable switch, so it runs alone.
/// </summary>
[Collection(nameof(ProjectionKernelTests))]
public sealed class TiledAttentionTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public void TiledPrefillAttentionMatchesTheScalarReference(int numDevice, bool portable)
    {
        // Head dim 64 takes the tiled prefill attention (AVX-512); chunks start mid-block and past a 32-position panel,
        // blocks of 5 positions straddle the panels, and two query heads share each KV head.
        var checkpoint = HfCheckpoint.Random(seed: 17, hidden: 256, heads: 4, kvHeads: 2);
        using var temp = new TempFolder();
        string model = TestCompiledModel.Write(checkpoint, temp.Sub("m"), numDevices: [numDevice], blockSize: 5);
        int[] prompt = Enumerable.Range(0, 75).Select(i => (i * 41 + 3) % 256).ToArray();
        bool wasPortable = DotKernels.ForcePortable;
        try
        {
            DotKernels.ForcePortable = portable;
            using var engine = HostEngine.Load(model, numDevice);
            using var sequence = engine.CreateSequence(prompt.Length);
            var logits = new float[engine.VocabSize];
            foreach (var (start, length) in new[] { (0, 33), (33, 7), (40, 32), (72, 1), (73, 1), (74, 1) })
            {
                engine.Forward(sequence, prompt.AsSpan(start, length), logits);
                double error = EngineTestHelpers.RelativeError(logits, new ScalarLlama(checkpoint).Logits(prompt[..(start + length)]));
                Assert.True(error < 1e-4, $"after {start + length} positions: relative error {error:E2}");
            }
        }
        finally
        {
            DotKernels.ForcePortable = wasPortable;
        }
    }
}
