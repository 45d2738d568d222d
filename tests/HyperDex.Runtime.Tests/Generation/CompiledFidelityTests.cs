using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Tests.Engine;
using Xunit;

namespace HyperDex.Runtime.Tests.Generation;

/// <summary>
/// The acceptance test: stories260K compiled by the module's own compiler with fp32 weights, generated greedily from
/// an empty prompt (BOS) for 200 tokens, reproduces the original C implementation's ids and text exactly, on 1 and 2
/// devices; and the compiled model's logits match the scalar reference read from the HF safetensors.
/// </summary>
public sealed class CompiledFidelityTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public void CompiledStoriesReproducesTheReferenceOnOneAndTwoDevices()
    {
        string source = SharedData.Require("models/stories260K");
        string output = _temp.Sub("stories260K");
        foreach (int n in new[] { 1, 2 })
        {
            ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = output, NumDevice = n, Dtype = HdxDtype.F32 },
                NullReporter.Instance, CancellationToken.None);
        }

        int[] expectedIds = File.ReadAllText(Path.Combine(source, "expected_token_ids.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        string expectedText = File.ReadAllText(Path.Combine(source, "expected.txt"));
        foreach (int n in new[] { 1, 2 })
        {
            using var model = LoadedModel.Load(output, n);
            using var generation = model.Generate(string.Empty, new SamplingOptions { MaxNewTokens = 200 });
            var tokens = generation.ToList();
            Assert.Equal(expectedIds, tokens.Select(t => t.TokenId));
            Assert.Equal(expectedText, generation.Text);

            var steps = EngineTestHelpers.Run(model.Engine, [1, 403, 407], [261, 378]);
            double error = EngineTestHelpers.RelativeError(steps[^1], new ScalarLlama(HfCheckpoint.Read(source)).Logits([1, 403, 407, 261, 378]));
            Assert.True(error < 1e-4, $"NumDevice {n}: relative logit error {error:E2}");
        }
    }
}
