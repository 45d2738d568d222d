using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Engine.Kernels;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>The engine's logits against the scalar double-precision reference, for every device count, dtype and rope variant.</summary>
[Collection(nameof(ProjectionKernelTests))] // flips NativeKernels.Disabled
public sealed class HostEngineNumericsTests : IDisposable
{
    private static readonly int[] Prompt = [1, 17, 200, 33, 5, 90, 45, 3, 250, 128, 64];
    private static readonly int[] Continuation = [7, 99, 12, 180, 4, 66];
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Fp32LogitsMatchTheScalarReference(int numDevice)
    {
        var checkpoint = HfCheckpoint.Random(seed: 11);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), blockSize: 4);
        using var engine = HostEngine.Load(model, numDevice);
        AssertMatchesReference(engine, new ScalarLlama(checkpoint), 1e-4);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("llama3")]
    public void RopeScalingMatchesTheReference(string type)
    {
        var scaling = type == "linear"
            ? new JsonObject { ["rope_type"] = "linear", ["factor"] = 4.0 }
            : new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 16.0 };
        var checkpoint = HfCheckpoint.Random(seed: 5, hidden: 128, heads: 4, kvHeads: 2, ropeScaling: scaling);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), numDevices: [2]);
        using var engine = HostEngine.Load(model, 2);
        AssertMatchesReference(engine, new ScalarLlama(checkpoint), 1e-4);
    }

    [Theory]
    [InlineData(HdxDtype.F16)]
    [InlineData(HdxDtype.BF16)]
    [InlineData(HdxDtype.Q8)]
    public void ReducedPrecisionWeightsAccumulateInFp32(HdxDtype dtype)
    {
        var checkpoint = HfCheckpoint.Random(seed: 3, tied: true, intermediate: 128);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), dtype, numDevices: [1, 2]);

        // The reference runs on the same rounded weights (matrices only; norms stay fp32 as in the image).
        foreach (var name in checkpoint.Tensors.Keys.ToList())
        {
            var (data, shape) = checkpoint.Tensors[name];
            if (shape.Length == 2)
            {
                checkpoint.Tensors[name] = (dtype switch
                {
                    HdxDtype.F16 => data.Select(v => (float)(Half)v).ToArray(),
                    HdxDtype.BF16 => data.Select(v => BitConverter.Int32BitsToSingle(TestCompiledModel.ToBFloat16(v) << 16)).ToArray(),
                    _ => TestCompiledModel.FromQ8(data),
                }, shape);
            }
        }

        var reference = new ScalarLlama(checkpoint);
        bool wasDisabled = NativeKernels.Disabled;
        try
        {
            // The managed kernels keep activations exact: fp32 accumulation of the widened weights.
            NativeKernels.Disabled = true;
            foreach (int n in new[] { 1, 2 })
            {
                using var engine = HostEngine.Load(model, n);
                AssertMatchesReference(engine, reference, 1e-4);
            }

            NativeKernels.Disabled = wasDisabled;
            if (dtype == HdxDtype.BF16 && NativeKernels.Bf16Gemm)
            {
                // The native bf16 prefill kernel rounds each activation by up to 2^-9 of itself (as llama.cpp does):
                // the prompt step may then differ by about that much per layer, bounded here by 2^-8 (measured 2.9e-3).
                using var engine = HostEngine.Load(model, 1);
                AssertMatchesReference(engine, reference, Math.Pow(2, -8));
            }
        }
        finally
        {
            NativeKernels.Disabled = wasDisabled;
        }
    }

    [Fact]
    public void PrefillAsABatchEqualsTokenByToken()
    {
        var checkpoint = HfCheckpoint.Random(seed: 8);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), numDevices: [1], blockSize: 4);
        using var engine = HostEngine.Load(model, 1);
        float[] batch = EngineTestHelpers.Run(engine, Prompt, [])[0];
        float[] single = EngineTestHelpers.Run(engine, Prompt[..1], Prompt[1..])[^1];
        Assert.True(EngineTestHelpers.RelativeError(batch, single.Select(v => (double)v).ToArray()) < 1e-5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PrefillInChunksEqualsOneBatch(int numDevice)
    {
        // Chunks start mid-block and span blocks: each chunk attends to the cache the earlier ones wrote.
        var checkpoint = HfCheckpoint.Random(seed: 13);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), numDevices: [numDevice], blockSize: 4);
        using var engine = HostEngine.Load(model, numDevice);
        int[] prompt = Enumerable.Range(0, 40).Select(i => (i * 37 + 11) % 256).ToArray();
        float[] whole = EngineTestHelpers.Run(engine, prompt, [])[0];
        using var sequence = engine.CreateSequence(prompt.Length);
        var chunked = new float[engine.VocabSize];
        foreach (var (start, length) in new[] { (0, 7), (7, 16), (23, 17) })
        {
            engine.Forward(sequence, prompt.AsSpan(start, length), chunked);
        }

        Assert.True(EngineTestHelpers.RelativeError(chunked, whole.Select(v => (double)v).ToArray()) < 1e-5);
    }

    [Fact]
    public void DeviceCountsAgreeOnGreedyTokens()
    {
        var checkpoint = HfCheckpoint.Random(seed: 21, vocab: 512);
        string model = TestCompiledModel.Write(checkpoint, _temp.Sub("m"), blockSize: 8);
        var outputs = new[] { 1, 2, 4 }.Select(n =>
        {
            using var engine = HostEngine.Load(model, n);
            return EngineTestHelpers.Greedy(engine, Prompt, 40);
        }).ToList();
        Assert.Equal(outputs[0], outputs[1]);
        Assert.Equal(outputs[0], outputs[2]);
    }

    private static void AssertMatchesReference(HostEngine engine, ScalarLlama reference, double tolerance)
    {
        var steps = EngineTestHelpers.Run(engine, Prompt, Continuation);
        for (int i = 0; i < steps.Count; i++)
        {
            var tokens = Prompt.Concat(Continuation.Take(i)).ToArray();
            double error = EngineTestHelpers.RelativeError(steps[i], reference.Logits(tokens));
            Assert.True(error < tolerance, $"step {i}: relative error {error:E2} (NumDevice {engine.NumDevice})");
        }
    }
}
