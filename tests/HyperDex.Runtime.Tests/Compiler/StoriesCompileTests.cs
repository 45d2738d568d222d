using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>
/// Compiles a generated checkpoint shaped like stories260K (and the real one where ../shared has it) and checks every
/// weight against the source file, read independently.
/// </summary>
public sealed class StoriesCompileTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-stories-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Stories => SharedData.Require("models/stories260K");

    /// <summary>stories260K's shape (5 layers, GQA 8/4, odd MLP width 172, tied 512-token vocabulary) with random weights.</summary>
    internal static string WriteStoriesShaped(string folder)
    {
        TinyModel.Write(folder, new TinyModelSpec { Layers = 5, Heads = 8, KvHeads = 4, Intermediate = 172, Vocab = 512, Tied = true, MaxPositions = 512 });
        return folder;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void CompiledWeightsEqualTheSourceWhenJoinedAcrossDevices(int numDevice)
    {
        string output = Path.Combine(_temp, "out");
        string stories = WriteStoriesShaped(Path.Combine(_temp, "src"));
        var result = ModelCompiler.Compile(new CompileOptions { SourcePath = stories, OutputPath = output, NumDevice = numDevice, Dtype = HdxDtype.F32 },
            NullReporter.Instance, CancellationToken.None);

        Assert.Equal(CompileAction.Build, result.Action);
        Assert.Equal(512, result.Manifest.MaxLength);
        Assert.Equal(new[] { numDevice }, result.Manifest.Variants.Select(v => v.NumDevice));
        var source = new ReferenceSafetensors(Path.Combine(stories, "model.safetensors"));
        Assert.Equal(source.Names.Sum(n => source.Shape(n).Aggregate(1L, (a, b) => a * b)), result.Manifest.ParameterCount);
        var images = Enumerable.Range(0, numDevice).Select(d => new CompiledImage(output, numDevice, d)).ToList();
        foreach (var image in images)
        {
            Assert.All(image.Index.Tensors, t => Assert.Equal(0, t.Offset % 64));
            Assert.Equal(new FileInfo(CompiledLayout.ParamImage(output, numDevice, image.Index.Device)).Length, image.Index.TotalBytes);
        }

        Assert.Equal(source.Floats("model.embed_tokens.weight"), images[numDevice - 1].Floats("embed"));
        // Tied: on one device the logits read embed itself; on more, each device holds its vocabulary rows as lm_head.
        string head = numDevice == 1 ? "embed" : "lm_head";
        Assert.Equal(numDevice > 1, images[0].Index.Tensors.Any(t => t.Name == "lm_head"));
        Assert.Equal(head, CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(output, numDevice, 0)).Instructions[^1].Weights[0]);
        Assert.Equal(source.Floats("model.embed_tokens.weight"), CompiledImage.JoinRows(images.Select(i => i.Floats(head))));
        Assert.Equal(source.Floats("model.norm.weight"), images[0].Floats("final_norm"));
        for (int l = 0; l < 5; l++)
        {
            string hf = $"model.layers.{l}.";
            string hdx = $"layers.{l}.";
            foreach (var (from, to) in new[] { ("self_attn.q_proj", "attn.q"), ("self_attn.k_proj", "attn.k"), ("self_attn.v_proj", "attn.v"), ("mlp.gate_proj", "mlp.gate"), ("mlp.up_proj", "mlp.up") })
            {
                Assert.Equal(source.Floats(hf + from + ".weight"), CompiledImage.JoinRows(images.Select(i => i.Floats(hdx + to))));
            }

            Assert.Equal(source.Floats(hf + "self_attn.o_proj.weight"), CompiledImage.JoinColumns(images.Select(i => i.Floats(hdx + "attn.o")).ToList(), 64));
            Assert.Equal(source.Floats(hf + "mlp.down_proj.weight"), CompiledImage.JoinColumns(images.Select(i => i.Floats(hdx + "mlp.down")).ToList(), 64));
            Assert.Equal(source.Floats(hf + "input_layernorm.weight"), images[0].Floats(hdx + "attn_norm"));
            Assert.Equal(source.Floats(hf + "post_attention_layernorm.weight"), images[numDevice - 1].Floats(hdx + "mlp_norm"));
        }
    }

    [SkippableFact]
    public void ProgramsFollowTheOpCodeContract()
    {
        string output = Path.Combine(_temp, "out");
        ModelCompiler.Compile(new CompileOptions { SourcePath = Stories, OutputPath = output, NumDevice = 2, MaxLength = 256 },
            NullReporter.Instance, CancellationToken.None);

        var program = CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(output, 2, 1));
        var index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(output, 2, 1));
        Assert.Equal((2, 1, 256, 16, 512), (program.NumDevice, program.Device, program.MaxLength, program.KvBlockSize, program.VocabSize));
        Assert.Equal(1 + (5 * 9) + 2, program.Instructions.Count);
        Assert.Equal(new[] { OpCode.Embed, OpCode.Norm, OpCode.Project, OpCode.Rotary, OpCode.KvWrite, OpCode.Attention, OpCode.ProjectAllReduce, OpCode.Norm, OpCode.Project, OpCode.ProjectAllReduce },
            program.Instructions.Take(10).Select(i => i.Op));
        Assert.Equal(new[] { OpCode.Norm, OpCode.Logits }, program.Instructions.TakeLast(2).Select(i => i.Op));

        var names = index.Tensors.Select(t => t.Name).ToHashSet();
        Assert.All(program.Instructions.SelectMany(i => i.Weights).Where(w => w != ""), w => Assert.Contains(w, names));
        var widths = program.Buffers.ToDictionary(b => b.Name, b => b.Width);
        Assert.Equal((64, 32, 16, 16, 32, 86), (widths["x"], widths["q"], widths["k"], widths["v"], widths["attn"], widths["act"]));
        Assert.Equal(256, (int)program.Instructions[^1].Attributes["vocabCount"]);

        var rotary = program.Instructions[3];
        Assert.Equal((4.0, 2.0, 8.0, 10000.0, "none"), (rotary.Attributes["heads"], rotary.Attributes["kvHeads"], rotary.Attributes["headDim"], rotary.Attributes["theta"], rotary.Modes["scaling"]));
        Assert.Equal(1 / Math.Sqrt(8), program.Instructions[5].Attributes["scale"], 12);
        Assert.Equal(1e-5, program.Instructions[1].Attributes["eps"], 12);
        var logits = program.Instructions[^1];
        Assert.Equal((256.0, 256.0), (logits.Attributes["vocabStart"], logits.Attributes["vocabCount"]));
        Assert.Equal(new[] { "final_norm" }, program.Instructions[^2].Weights);
        Assert.Equal(new[] { "lm_head" }, logits.Weights);
        Assert.Equal(new[] { 256, 64 }, index.Tensors.Single(t => t.Name == "lm_head").Shape);
        Assert.Equal(HdxDtype.F16, index.Tensors.Single(t => t.Name == "layers.0.attn.q").Dtype);
        Assert.Equal(HdxDtype.F32, index.Tensors.Single(t => t.Name == "layers.0.attn_norm").Dtype);
        Assert.Equal(5, program.KvCaches.Count);
        Assert.All(program.KvCaches, c => Assert.Equal((2, 8), (c.KvHeads, c.HeadDim)));
    }
}
