using HyperDex.Runtime.Engine.Kernels;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>The decode attention kernels against a double-precision reference, at head dims and block fills that leave tails.</summary>
public sealed unsafe class AttentionKernelTests
{
    [SkippableTheory]
    [InlineData(16, 1)]
    [InlineData(48, 3)]
    [InlineData(64, 4)]
    [InlineData(64, 7)]
    [InlineData(80, 16)]
    [InlineData(128, 13)]
    public void ScoresAndWeightedValuesMatchTheReference(int headDim, int count)
    {
        Skip.IfNot(AttentionKernels.Supports(headDim), "the decode attention kernels need AVX-512");
        var random = new Random((headDim * 31) + count);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        float[] q = Random(headDim), keys = Random(count * headDim), values = Random(count * headDim), output = Random(headDim);
        float[] p = Random(count);
        var scores = new float[count];
        float[] expectedOutput = output.ToArray();
        fixed (float* qp = q, kp = keys, vp = values, op = output, pp = p, sp = scores)
        {
            AttentionKernels.Scores(qp, kp, count, headDim, 0.125f, sp);
            AttentionKernels.Accumulate(pp, vp, count, headDim, op);
        }

        for (int s = 0; s < count; s++)
        {
            double dot = Enumerable.Range(0, headDim).Sum(d => (double)q[d] * keys[(s * headDim) + d]) * 0.125;
            Assert.True(Math.Abs(scores[s] - dot) <= 1e-5, $"score {s}: {scores[s]} instead of {dot}");
        }

        for (int d = 0; d < headDim; d++)
        {
            double sum = expectedOutput[d] + Enumerable.Range(0, count).Sum(s => (double)p[s] * values[(s * headDim) + d]);
            Assert.True(Math.Abs(output[d] - sum) <= 1e-5, $"dim {d}: {output[d]} instead of {sum}");
        }
    }
}
