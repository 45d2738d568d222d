using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>
/// Issue 18: a compile streams the weights from the source into the images and keeps no ckpt/ copy unless asked
/// (-KeepCheckpoint). Both routes must give byte-identical images, so the compiled model generates what it did when
/// phase 3 read the converted checkpoint.
/// </summary>
public sealed class StreamedCompileTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-stream-compile-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private CompileResult Compile(string model, string output, int numDevice, HdxDtype dtype, bool keep = false, bool force = false) =>
        ModelCompiler.Compile(new CompileOptions
        {
            SourcePath = model, OutputPath = Path.Combine(_temp, output), NumDevice = numDevice, Dtype = dtype, KeepCheckpoint = keep, Force = force,
        }, NullReporter.Instance, CancellationToken.None);

    private static void AssertSameVariant(string expected, string actual, int numDevice)
    {
        for (int d = 0; d < numDevice; d++)
        {
            Assert.True(File.ReadAllBytes(CompiledLayout.ParamImage(expected, numDevice, d)).AsSpan()
                .SequenceEqual(File.ReadAllBytes(CompiledLayout.ParamImage(actual, numDevice, d))), $"device {d}'s image differs");
            Assert.Equal(File.ReadAllText(CompiledLayout.ParamIndex(expected, numDevice, d)), File.ReadAllText(CompiledLayout.ParamIndex(actual, numDevice, d)));
            Assert.Equal(File.ReadAllText(CompiledLayout.Program(expected, numDevice, d)), File.ReadAllText(CompiledLayout.Program(actual, numDevice, d)));
        }
    }

    private const string Weights = CompiledLayout.CheckpointDirectory + "/" + CompiledLayout.CheckpointWeightsFile;

    [Theory]
    [InlineData("LlamaForCausalLM", true, HdxDtype.F16, 1)]
    [InlineData("LlamaForCausalLM", true, HdxDtype.Q8, 2)]
    [InlineData("Qwen2ForCausalLM", false, HdxDtype.BF16, 2)]
    [InlineData("Qwen2ForCausalLM", false, HdxDtype.F32, 4)]
    [InlineData("MistralForCausalLM", false, HdxDtype.Q8, 1)]
    public void StreamedImagesEqualThoseFromAKeptCheckpoint(string architecture, bool tied, HdxDtype dtype, int numDevice)
    {
        string model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(model, new TinyModelSpec { Architecture = architecture, Tied = tied, Heads = 8, KvHeads = 4, Intermediate = 96, Vocab = 301, Dtype = HdxDtype.BF16 });
        var kept = Compile(model, "kept", numDevice, dtype, keep: true);
        var streamed = Compile(model, "streamed", numDevice, dtype);

        AssertSameVariant(kept.Path, streamed.Path, numDevice);
        Assert.True(File.Exists(CompiledLayout.CheckpointWeights(kept.Path)));
        Assert.Contains(Weights, kept.Manifest.Files!.Keys);
        Assert.False(File.Exists(CompiledLayout.CheckpointWeights(streamed.Path)), "a compile without -KeepCheckpoint wrote the weights to ckpt/");
        Assert.DoesNotContain(Weights, streamed.Manifest.Files!.Keys);
        Assert.True(File.Exists(CompiledLayout.CheckpointConfig(streamed.Path)), "the converter's report is kept");
        Assert.Equal(kept.Manifest.SourceHashes, streamed.Manifest.SourceHashes);
        Assert.True(streamed.SizeBytes < kept.SizeBytes);
        // The images' checksums were taken while writing them: they must be those of the files.
        Assert.Empty(CompiledModelVerifier.Verify(streamed.Path, NullReporter.Instance, CancellationToken.None).Problems);
    }

    /// <summary>Architectures whose transforms the generated models lack: Conv1D transposes, fused q/k/v and gate/up runs, + 1 norms, experts.</summary>
    public static IEnumerable<object[]> TransformModels() => SharedData.Cases(new[] { "gpt2", "phi3", "gemma", "gpt_neox", "falcon", "qwen3_moe", "olmo2" }
        .Select(m => new object[] { m }));

    [SkippableTheory]
    [MemberData(nameof(TransformModels))]
    public void StreamedTransformsEqualTheConvertedCheckpoint(string folder)
    {
        string model = SharedData.Require($"models/arch/{folder}");
        foreach (var dtype in new[] { HdxDtype.F32, HdxDtype.Q8 })
        {
            string name = folder + "-" + dtype;
            var kept = Compile(model, name + "-kept", 2, dtype, keep: true);
            var streamed = Compile(model, name + "-streamed", 2, dtype);
            AssertSameVariant(kept.Path, streamed.Path, 2);
        }
    }

    [Fact]
    public void AddsAVariantFromTheSourceOrFromTheKeptCheckpoint()
    {
        string model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(model, new TinyModelSpec { Heads = 8, KvHeads = 4, Dtype = HdxDtype.BF16 });
        Compile(model, "streamed", 1, HdxDtype.F16);
        Compile(model, "kept", 1, HdxDtype.F16, keep: true);

        var streamed = Compile(model, "streamed", 2, HdxDtype.F16);
        var kept = Compile(model, "kept", 2, HdxDtype.F16);
        Assert.Equal(CompileAction.AddVariant, streamed.Action);
        Assert.Equal(CompileAction.AddVariant, kept.Action);
        Assert.Equal(new[] { 1, 2 }, streamed.Manifest.Variants.Select(v => v.NumDevice));
        AssertSameVariant(kept.Path, streamed.Path, 2);
        Assert.False(File.Exists(CompiledLayout.CheckpointWeights(streamed.Path)));
        Assert.Empty(CompiledModelVerifier.Verify(streamed.Path, NullReporter.Instance, CancellationToken.None).Problems);
        Assert.Empty(CompiledModelVerifier.Verify(kept.Path, NullReporter.Instance, CancellationToken.None).Problems);
    }

    [Fact]
    public void KeepCheckpointOnAFolderCompiledWithoutItRebuildsIt()
    {
        string model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(model, new TinyModelSpec());
        Compile(model, "out", 1, HdxDtype.F16);
        var warnings = new WarningReporter();
        var rebuilt = ModelCompiler.Compile(new CompileOptions { SourcePath = model, OutputPath = Path.Combine(_temp, "out"), Dtype = HdxDtype.F16, KeepCheckpoint = true },
            warnings, CancellationToken.None);
        Assert.Equal(CompileAction.Rebuild, rebuilt.Action);
        Assert.Contains(warnings.Warnings, w => w.Contains("-KeepCheckpoint", StringComparison.Ordinal));
        Assert.True(File.Exists(CompiledLayout.CheckpointWeights(rebuilt.Path)));
        // Once kept, a plain compile reuses the folder and its checkpoint.
        Assert.Equal(CompileAction.Reuse, Compile(model, "out", 1, HdxDtype.F16).Action);
    }

    [Fact]
    public void AKeptCheckpointThatWentMissingRebuildsAndADamagedOneFailsSpecifically()
    {
        string model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(model, new TinyModelSpec { Heads = 8, KvHeads = 4 });
        var first = Compile(model, "out", 1, HdxDtype.F16, keep: true);

        // A checkpoint of another model in its place: adding a variant must not cut images from it.
        string other = Path.Combine(_temp, "src", "other");
        TinyModel.Write(other, new TinyModelSpec { Heads = 8, KvHeads = 4, Intermediate = 64 });
        var foreign = Compile(other, "other", 1, HdxDtype.F16, keep: true);
        File.Copy(CompiledLayout.CheckpointWeights(foreign.Path), CompiledLayout.CheckpointWeights(first.Path), overwrite: true);
        var error = Assert.Throws<HdxException>(() => Compile(model, "out", 2, HdxDtype.F16));
        Assert.Equal("ConvertedCheckpointMismatch", error.ErrorId);
        Assert.Contains("-Force", error.RecommendedAction, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(first.Path, CompiledLayout.ParamDirectory, "2")), "a failed variant build left its images");

        File.Delete(CompiledLayout.CheckpointWeights(first.Path));
        var rebuilt = Compile(model, "out", 2, HdxDtype.F16);
        Assert.Equal(CompileAction.Rebuild, rebuilt.Action);
        Assert.False(File.Exists(CompiledLayout.CheckpointWeights(rebuilt.Path)));
    }

    private sealed class WarningReporter : IHdxReporter
    {
        public List<string> Warnings { get; } = new();

        public void Progress(HdxProgress progress)
        {
        }

        public void Verbose(string message)
        {
        }

        public void Warning(string message) => Warnings.Add(message);
    }
}
