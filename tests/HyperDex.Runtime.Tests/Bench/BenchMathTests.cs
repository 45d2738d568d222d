using HyperDex.Runtime.Compiled;
using HyperDex.TestTools.Bench;
using Xunit;

namespace HyperDex.Runtime.Tests.Bench;

/// <summary>The benchmark's arithmetic, against values worked out by hand.</summary>
public sealed class BenchMathTests
{
    [Fact]
    public void MedianOfOddAndEvenCounts()
    {
        Assert.Equal(3, BenchMath.Median([5, 1, 3]));
        Assert.Equal(2.5, BenchMath.Median([4, 1, 3, 2]));
        Assert.Throws<ArgumentException>(() => BenchMath.Median([]));
    }

    [Fact]
    public void DecodeReadsOneEmbeddingRowAndEveryOtherTensor()
    {
        static ParamTensor Tensor(string name, int rows, int cols, long length) =>
            new() { Name = name, Dtype = HdxDtype.F16, Shape = [rows, cols], Offset = 0, Length = length };
        var index = new ParamIndex
        {
            NumDevice = 1, Device = 0, TotalBytes = 0,
            Tensors = [Tensor("embed", 100, 8, 1600), Tensor("layers.0.attn.q", 8, 8, 128), Tensor("lm_head", 100, 8, 1600)],
        };

        Assert.Equal(16 + 128 + 1600, BenchMath.DecodeWeightBytes(index));
        Assert.Equal(1600 + 128, BenchMath.DecodeWeightBytes(index with { Tensors = index.Tensors.SkipLast(1).ToList() })); // tied: logits read embed
    }

    [Fact]
    public void DecodeKvBytesAverageTheAttendedPositions()
    {
        // Prompt 4, three steps attend over 5, 6 and 7 positions: mean 6.
        Assert.Equal(6 * 10.0, BenchMath.DecodeKvBytes(10, 4, 3));
    }

    [Fact]
    public void PrefillFlopsCountProjectionsOneHeadRowAndCausalAttention()
    {
        var architecture = new ModelArchitecture
        {
            Name = "LlamaForCausalLM", HiddenSize = 8, Layers = 2, Heads = 2, KvHeads = 1, HeadDim = 4, IntermediateSize = 16,
            VocabSize = 10, MaxPositions = 64, TiedEmbeddings = false,
        };

        // Per layer: q 8x8, k and v 4x8 each, o 8x8, gate/up/down 3 x 16x8 = 64+64+64+384 = 576 weights.
        double projections = 2.0 * 3 * 2 * 576;
        double head = 2.0 * 10 * 8;
        double attention = 2 * 2 * 4.0 * 4 * (1 + 2 + 3); // layers x heads x 4 x headDim x attended positions
        Assert.Equal(projections + head + attention, BenchMath.PrefillFlops(architecture, 3));
    }

    [Fact]
    public void EfficienciesAreAchievedOverMeasured()
    {
        Assert.Equal(0.5, BenchMath.BandwidthEfficiency(1e9, 5, 1e10), 12);
        Assert.Equal(0.25, BenchMath.FlopEfficiency(1e12, 40, 1e11), 12);
    }
}
