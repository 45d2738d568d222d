using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

public class SamplerTests
{
    private static ResolvedSampling Options(bool doSample = true, double temperature = 1, int topK = 0, double topP = 1, double penalty = 1, int seed = 7) =>
        new SamplingOptions { DoSample = doSample, Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = penalty, Seed = seed }
            .Resolve(new GenerationDefaults());

    [Fact]
    public void ArgMaxTakesTheFirstLargest() => Assert.Equal(1, Sampler.ArgMax([0f, 3f, -1f, 3f]));

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenIdsOnce()
    {
        var sampler = new Sampler(Options(doSample: false, penalty: 2), 4);
        sampler.Observe(0);
        sampler.Observe(1);
        sampler.Observe(1); // HF gathers distinct ids: a repeated id is penalised once
        float[] logits = [3f, -2f, 1f, 0.5f];
        int chosen = sampler.Next(logits, out _);
        Assert.Equal([1.5f, -4f, 1f, 0.5f], logits);
        Assert.Equal(0, chosen);
    }

    [Fact]
    public void GreedyReturnsTheArgMaxAndItsLogSoftmax()
    {
        var sampler = new Sampler(Options(doSample: false), 3);
        float[] logits = [0f, 2f, 1f];
        Assert.Equal(1, sampler.Next(logits, out float logprob));
        double expected = 2 - Math.Log(Math.Exp(0) + Math.Exp(2) + Math.Exp(1));
        Assert.Equal(expected, logprob, 5);
    }

    [Fact]
    public void TemperatureZeroIsGreedy()
    {
        var sampler = new Sampler(Options(temperature: 0), 3);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(2, sampler.Next([0.5f, 1f, 1.2f], out _));
        }
    }

    [Theory]
    [InlineData(1e-38)]
    [InlineData(1e-45)]
    [InlineData(1e-300)]
    [InlineData(4.9e-324)]
    public void TinyTemperaturesTendToGreedy(double temperature)
    {
        // Logits of a real model's size: dividing them by 1e-38 in fp32 overflowed every score to ±Inf (NaN draws).
        var sampler = new Sampler(Options(temperature: temperature, topP: 0.9, topK: 50), 5);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(3, sampler.Next([12.5f, -30f, 11f, 13.25f, 13.2f], out float logprob));
            Assert.True(float.IsFinite(logprob) && logprob <= 0, $"log-probability {logprob}");
        }
    }

    [Fact]
    public void TopKOneIsGreedy()
    {
        var sampler = new Sampler(Options(topK: 1, temperature: 5), 5);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(3, sampler.Next([0.1f, 0.2f, 0.3f, 0.9f, 0.8f], out float logprob));
            Assert.Equal(0, logprob, 6);
        }
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.8 keeps {0.5, 0.3} (the 0.15 + 0.05 tail is <= 0.2 and removed)
        float[] probabilities = [0.05f, 0.5f, 0.15f, 0.3f];
        var sampler = new Sampler(Options(topP: 0.8, seed: 1), 4);
        var counts = new int[4];
        for (int i = 0; i < 4000; i++)
        {
            counts[sampler.Next(probabilities.Select(p => MathF.Log(p)).ToArray(), out _)]++;
        }

        Assert.Equal(0, counts[0]);
        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[1] / 4000.0, 0.55, 0.70); // 0.5 / 0.8 = 0.625
        Assert.InRange(counts[3] / 4000.0, 0.30, 0.45);
    }

    [Fact]
    public void SamplingFollowsTheDistribution()
    {
        var sampler = new Sampler(Options(seed: 3), 3);
        var counts = new int[3];
        for (int i = 0; i < 6000; i++)
        {
            counts[sampler.Next([MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.5f)], out _)]++;
        }

        Assert.InRange(counts[0] / 6000.0, 0.17, 0.23);
        Assert.InRange(counts[1] / 6000.0, 0.27, 0.33);
        Assert.InRange(counts[2] / 6000.0, 0.47, 0.53);
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        float[] logits = Enumerable.Range(0, 50).Select(i => (float)Math.Sin(i)).ToArray();
        int[] Draw(int seed)
        {
            var sampler = new Sampler(Options(seed: seed), 50);
            return Enumerable.Range(0, 30).Select(i => sampler.Next((float[])logits.Clone(), out _)).ToArray();
        }

        Assert.Equal(Draw(42), Draw(42));
        Assert.NotEqual(Draw(42), Draw(43));
    }

    [Theory]
    [InlineData(-0.5, 50, 1.0, 1.0, 10, "Temperature")]
    [InlineData(double.NaN, 50, 1.0, 1.0, 10, "Temperature")]
    [InlineData(1.0, -1, 1.0, 1.0, 10, "TopK")]
    [InlineData(1.0, 50, 0.0, 1.0, 10, "TopP")]
    [InlineData(1.0, 50, 1.5, 1.0, 10, "TopP")]
    [InlineData(1.0, 50, 1.0, 0.0, 10, "RepetitionPenalty")]
    [InlineData(1.0, 50, 1.0, 1.0, 0, "MaxNewTokens")]
    public void InvalidValuesAreRejected(double temperature, int topK, double topP, double penalty, int maxNew, string parameter)
    {
        var options = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = penalty, MaxNewTokens = maxNew };
        var error = Assert.Throws<HdxException>(() => options.Resolve(new GenerationDefaults()));
        Assert.Equal("InvalidSamplingParameter", error.ErrorId);
        Assert.Equal(parameter, error.Target);
    }

    [Fact]
    public void ModelDefaultsFillUnsetValues()
    {
        var defaults = new GenerationDefaults { DoSample = true, Temperature = 0.6, TopP = 0.9, MaxNewTokens = 33 };
        var resolved = new SamplingOptions { TopP = 0.5 }.Resolve(defaults);
        Assert.True(resolved.DoSample);
        Assert.Equal(0.6, resolved.Temperature);
        Assert.Equal(0.5, resolved.TopP);
        Assert.Equal(50, resolved.TopK);
        Assert.Equal(33, resolved.MaxNewTokens);
    }
}
