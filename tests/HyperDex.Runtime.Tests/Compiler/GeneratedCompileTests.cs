using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>Compiles generated random-weight models covering shapes the real one does not: GQA ratios, untied, biases, dtypes.</summary>
public sealed class GeneratedCompileTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-gen-compile-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Model(TinyModelSpec spec, string name = "model")
    {
        string folder = Path.Combine(_temp, "src", name);
        TinyModel.Write(folder, spec);
        return folder;
    }

    private CompileResult Compile(string model, int numDevice, HdxDtype dtype = HdxDtype.F32, string output = "out", bool force = false) =>
        ModelCompiler.Compile(new CompileOptions { SourcePath = model, OutputPath = Path.Combine(_temp, output), NumDevice = numDevice, Dtype = dtype, Force = force },
            NullReporter.Instance, CancellationToken.None);

    [Theory]
    [InlineData("Qwen2ForCausalLM", 8, 8, 4, false)]
    [InlineData("Qwen2ForCausalLM", 8, 2, 2, false)]
    [InlineData("LlamaForCausalLM", 4, 1, 1, true)]
    [InlineData("MistralForCausalLM", 8, 4, 4, false)]
    public void JoinedDeviceSlicesEqualTheSource(string architecture, int heads, int kvHeads, int numDevice, bool tied)
    {
        var spec = new TinyModelSpec { Architecture = architecture, Heads = heads, KvHeads = kvHeads, Tied = tied, Intermediate = 100, Vocab = 301 };
        string model = Model(spec);
        var result = Compile(model, numDevice);
        var source = new ReferenceSafetensors(Path.Combine(model, "model.safetensors"));
        var images = Enumerable.Range(0, numDevice).Select(d => new CompiledImage(result.Path, numDevice, d)).ToList();
        float[] Rows(string name) => CompiledImage.JoinRows(images.Select(i => i.Floats(name)));

        Assert.Equal(source.Floats(tied ? "model.embed_tokens.weight" : "lm_head.weight"), Rows(tied && numDevice == 1 ? "embed" : "lm_head"));
        for (int l = 0; l < spec.Layers; l++)
        {
            string hf = $"model.layers.{l}.self_attn.";
            Assert.Equal(source.Floats(hf + "k_proj.weight"), Rows($"layers.{l}.attn.k"));
            Assert.Equal(source.Floats(hf + "o_proj.weight"), CompiledImage.JoinColumns(images.Select(i => i.Floats($"layers.{l}.attn.o")).ToList(), spec.Hidden));
            Assert.Equal(source.Floats($"model.layers.{l}.mlp.down_proj.weight"),
                CompiledImage.JoinColumns(images.Select(i => i.Floats($"layers.{l}.mlp.down")).ToList(), spec.Hidden));
            if (architecture == "Qwen2ForCausalLM")
            {
                Assert.Equal(source.Floats(hf + "q_proj.bias"), Rows($"layers.{l}.attn.q_bias"));
                Assert.Equal(source.Floats(hf + "v_proj.bias"), Rows($"layers.{l}.attn.v_bias"));
            }
        }

        var program = CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(result.Path, numDevice, numDevice - 1));
        var project = program.Instructions.First(i => i.Op == OpCode.Project);
        Assert.Equal(architecture == "Qwen2ForCausalLM" ? "layers.0.attn.q_bias" : "", project.Weights.ElementAtOrDefault(3) ?? "");
        Assert.Equal(kvHeads / numDevice, program.KvCaches[0].KvHeads);
        var logits = program.Instructions[^1].Attributes;
        Assert.Equal(301 * (numDevice - 1) / numDevice, (int)logits["vocabStart"]);
        Assert.Equal(301, (int)(logits["vocabStart"] + logits["vocabCount"]));
        Assert.Equal(100 - (100 * (numDevice - 1) / numDevice), program.Buffers.Single(b => b.Name == "act").Width);
    }

    [Theory]
    [InlineData(HdxDtype.F16)]
    [InlineData(HdxDtype.BF16)]
    public void ConvertsMatricesToTheTargetDtypeAndKeepsNormsInF32(HdxDtype dtype)
    {
        string model = Model(new TinyModelSpec());
        var result = Compile(model, 1, dtype);
        var index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(result.Path, 1, 0));
        var image = File.ReadAllBytes(CompiledLayout.ParamImage(result.Path, 1, 0));
        var q = index.Tensors.Single(t => t.Name == "layers.1.attn.q");
        Assert.Equal(dtype, q.Dtype);
        Assert.Equal(64L * 64 * 2, q.Length);
        var expected = new ReferenceSafetensors(Path.Combine(model, "model.safetensors")).Floats("model.layers.1.self_attn.q_proj.weight");
        for (int i = 0; i < expected.Length; i++)
        {
            ushort bits = BitConverter.ToUInt16(image, (int)CompiledImage.ElementOffset(q, i / 64, i % 64, 2));
            float actual = dtype == HdxDtype.F16 ? (float)BitConverter.UInt16BitsToHalf(bits) : BitConverter.Int32BitsToSingle(bits << 16);
            float reference = dtype == HdxDtype.F16 ? (float)(Half)expected[i] : BitConverter.Int32BitsToSingle((int)(BitConverter.SingleToUInt32Bits(expected[i]) + 0x7FFF + ((BitConverter.SingleToUInt32Bits(expected[i]) >> 16) & 1)) & unchecked((int)0xFFFF0000));
            Assert.Equal(reference, actual);
        }

        Assert.Equal(HdxDtype.F32, index.Tensors.Single(t => t.Name == "final_norm").Dtype);
        var manifest = CompiledJson.Read<CompiledManifest>(CompiledLayout.Manifest(result.Path));
        Assert.Equal(dtype, manifest.Dtype);
    }

    [Fact]
    public void BuildsOnlyTheMissingVariantAndRebuildsOnForce()
    {
        string model = Model(new TinyModelSpec { Shards = 2 });
        var first = Compile(model, 1);
        var programOne = File.ReadAllText(CompiledLayout.Program(first.Path, 1, 0));

        var second = Compile(model, 2);
        Assert.Equal(CompileAction.AddVariant, second.Action);
        Assert.Equal(new[] { 1, 2 }, second.Manifest.Variants.Select(v => v.NumDevice));
        Assert.False(File.Exists(CompiledLayout.CheckpointWeights(first.Path)), "the new variant was streamed from the source, not a ckpt/ copy");
        Assert.Equal(programOne, File.ReadAllText(CompiledLayout.Program(first.Path, 1, 0)));
        Assert.Equal(first.Manifest.Variants[0], second.Manifest.Variants[0]);
        Assert.Equal(CompileAction.Reuse, Compile(model, 2).Action);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(first.Path, "*", SearchOption.AllDirectories), p => p.Contains(".hdx-tmp-", StringComparison.Ordinal));

        var forced = Compile(model, 2, force: true);
        Assert.Equal(CompileAction.Rebuild, forced.Action);
        Assert.Equal(new[] { 2 }, forced.Manifest.Variants.Select(v => v.NumDevice));
        Assert.False(Directory.Exists(Path.Combine(first.Path, "param", "1")));
        Assert.Empty(Directory.EnumerateDirectories(_temp, ".out*"));
    }

    [Fact]
    public void ReplacesAVariantLeftHalfWrittenByAnInterruptedCompile()
    {
        string model = Model(new TinyModelSpec());
        var first = Compile(model, 1);
        string stale = Path.Combine(first.Path, "param", "2");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "device0.bin"), "partial");
        var second = Compile(model, 2);
        Assert.Equal(CompileAction.AddVariant, second.Action);
        Assert.Equal(second.Manifest.Variants[1].ParamBytesPerDevice, new FileInfo(Path.Combine(stale, "device0.bin")).Length);
    }

    [Fact]
    public void DigestsTheProgramsAndHashesTheSources()
    {
        string model = Model(new TinyModelSpec());
        var result = Compile(model, 2);
        var programs = Enumerable.Range(0, 2).Select(d => CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(result.Path, 2, d)));
        Assert.Equal(ProgramGenerator.Digest(programs), result.Manifest.Variants[0].ProgramDigest);
        Assert.Equal(
            new[] { "config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json" },
            result.Manifest.SourceHashes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" }, result.Manifest.TokenizerFiles);
        Assert.True(File.Exists(Path.Combine(CompiledLayout.Tokenizer(result.Path), "tokenizer.json")));
        Assert.Equal(TinyModel.EosId(new TinyModelSpec()), result.Manifest.Generation.EosTokenIds.Single());
    }

    [Fact]
    public void CarriesRopeScalingIntoTheRotaryAttributes()
    {
        string model = Model(new TinyModelSpec());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        config["rope_theta"] = 500000.0;
        config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 32.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 64 };
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());
        var result = Compile(model, 1);
        var instruction = CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(result.Path, 1, 0)).Instructions.First(i => i.Op == OpCode.Rotary);
        var rotary = instruction.Attributes;
        Assert.Equal("llama3", instruction.Modes["scaling"]);
        Assert.Equal((500000.0, 32.0, 1.0, 4.0, 64.0), (rotary["theta"], rotary["factor"],
            rotary["lowFreqFactor"], rotary["highFreqFactor"], rotary["originalMaxPositions"]));
    }
}
