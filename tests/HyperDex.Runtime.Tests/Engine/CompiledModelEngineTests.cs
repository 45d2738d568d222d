using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>The engine on the real compiler's output for generated Llama-family models (biases, GQA, tied heads).</summary>
public sealed class CompiledModelEngineTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("Qwen2ForCausalLM", 4, 2, false)]
    [InlineData("LlamaForCausalLM", 8, 2, true)]
    [InlineData("MistralForCausalLM", 4, 4, false)]
    public void CompiledLogitsMatchTheReferenceOnEveryDeviceCount(string architecture, int heads, int kvHeads, bool tied)
    {
        string source = _temp.Sub("hf");
        TinyModel.Write(source, new TinyModelSpec { Architecture = architecture, Heads = heads, KvHeads = kvHeads, Tied = tied, Seed = 5 });
        string output = _temp.Sub("compiled");
        foreach (int n in new[] { 1, 2 })
        {
            ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = output, NumDevice = n, Dtype = HdxDtype.F32 },
                NullReporter.Instance, CancellationToken.None);
        }

        var reference = new ScalarLlama(HfCheckpoint.Read(source));
        int[] prompt = [TinyModel.BosId(new TinyModelSpec()), 72, 101, 108, 108, 111, 32, 119];
        int[] more = [111, 114, 108];
        foreach (int n in new[] { 1, 2 })
        {
            using var engine = HostEngine.Load(output, n);
            var steps = EngineTestHelpers.Run(engine, prompt, more);
            for (int i = 0; i < steps.Count; i++)
            {
                double error = EngineTestHelpers.RelativeError(steps[i], reference.Logits([.. prompt, .. more.Take(i)]));
                Assert.True(error < 1e-4, $"{architecture} NumDevice {n} step {i}: relative error {error:E2}");
            }
        }

        // End to end through the byte-level tokenizer.json the compiler copied.
        using var model = LoadedModel.Load(output, 2);
        using var generation = model.Generate("hello", new SamplingOptions { MaxNewTokens = 12 });
        var tokens = generation.ToList();
        Assert.Equal(12, tokens.Count);
        Assert.Equal(model.Tokenizer.Decode(generation.GeneratedIds, skipSpecialTokens: true), generation.Text);
    }
}
