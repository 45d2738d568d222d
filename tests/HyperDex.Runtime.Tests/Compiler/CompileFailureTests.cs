using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>Every failure gives its ErrorId and leaves no output behind; Ctrl+C (cancellation) included.</summary>
public sealed class CompileFailureTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-fail-").FullName;
    private readonly string _model;
    private readonly string _output;

    public CompileFailureTests()
    {
        _model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(_model, new TinyModelSpec { Shards = 2 });
        _output = Path.Combine(_temp, "out", "model");
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private HdxException Fails(CompileOptions? options = null, IHdxReporter? reporter = null)
    {
        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(options ?? Options(), reporter ?? NullReporter.Instance, CancellationToken.None));
        Assert.False(Directory.Exists(Path.GetDirectoryName(_output)), "the output's parent was left behind");
        return error;
    }

    private CompileOptions Options(int numDevice = 1) => new() { SourcePath = _model, OutputPath = _output, NumDevice = numDevice };

    private void EditConfig(Action<JsonNode> edit)
    {
        string path = Path.Combine(_model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    [Fact]
    public void CancellationDuringConvertLeavesNothingBehind()
    {
        using var cancellation = new CancellationTokenSource();
        var reporter = new CancelOnPhase(cancellation, "Phase 2/4");
        Assert.ThrowsAny<OperationCanceledException>(() => ModelCompiler.Compile(Options(), reporter, cancellation.Token));
        Assert.True(reporter.Cancelled);
        Assert.False(Directory.Exists(Path.GetDirectoryName(_output)));
    }

    [Fact]
    public void CancellationWhileAddingAVariantKeepsTheCompiledModelAsItWas()
    {
        ModelCompiler.Compile(Options(), NullReporter.Instance, CancellationToken.None);
        string manifest = File.ReadAllText(CompiledLayout.Manifest(_output));
        using var cancellation = new CancellationTokenSource();
        var reporter = new CancelOnPhase(cancellation, "Phase 3/4");
        Assert.ThrowsAny<OperationCanceledException>(() => ModelCompiler.Compile(Options(2), reporter, cancellation.Token));
        Assert.True(reporter.Cancelled);
        Assert.Equal(manifest, File.ReadAllText(CompiledLayout.Manifest(_output)));
        Assert.False(Directory.Exists(Path.Combine(_output, "param", "2")));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_output, "*", SearchOption.AllDirectories), p => p.Contains(".hdx-tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public void CancellationDuringConvertHdxModelLeavesNothingBehind()
    {
        using var cancellation = new CancellationTokenSource();
        using var source = ModelSource.Open(_model, false, CancellationToken.None);
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ModelConverter.Convert(source, _output, HdxDtype.F16, false, new CancelOnPhase(cancellation, "Phase 2/4"), cancellation.Token));
        Assert.False(Directory.Exists(Path.GetDirectoryName(_output)));
    }

    [Fact]
    public void ConvertHdxModelReplacingACheckpointInvalidatesTheCompiledModel()
    {
        ModelCompiler.Compile(Options(), NullReporter.Instance, CancellationToken.None);
        using var source = ModelSource.Open(_model, false, CancellationToken.None);
        Assert.Equal("CheckpointExists", Assert.Throws<HdxException>(() =>
            ModelConverter.Convert(source, _output, HdxDtype.BF16, false, NullReporter.Instance, CancellationToken.None)).ErrorId);
        var report = ModelConverter.Convert(source, _output, HdxDtype.BF16, true, NullReporter.Instance, CancellationToken.None);
        Assert.Equal("bf16", report.Dtype);
        Assert.False(File.Exists(CompiledLayout.Manifest(_output)));
        Assert.Equal(CompileAction.Rebuild, ModelCompiler.Compile(Options(), NullReporter.Instance, CancellationToken.None).Action);
    }

    [Fact]
    public void ReusesTheCheckpointOfAnEarlierConvertAndGivesItBackWhenStopped()
    {
        using (var source = ModelSource.Open(_model, false, CancellationToken.None))
        {
            ModelConverter.Convert(source, _output, HdxDtype.F16, false, NullReporter.Instance, CancellationToken.None);
        }

        string weights = CompiledLayout.CheckpointWeights(_output);
        var written = File.GetLastWriteTimeUtc(weights);
        File.SetLastWriteTimeUtc(weights, written.AddDays(-1)); // a rewrite would move it forward again
        using (var cancellation = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() => ModelCompiler.Compile(Options(), new CancelOnPhase(cancellation, "Phase 3/4"), cancellation.Token));
        }

        Assert.Equal(new[] { "ckpt" }, Directory.EnumerateFileSystemEntries(_output).Select(Path.GetFileName));
        Assert.Equal(written.AddDays(-1), File.GetLastWriteTimeUtc(weights));

        var compiled = ModelCompiler.Compile(Options() with { Dtype = HdxDtype.Q8 }, NullReporter.Instance, CancellationToken.None);
        Assert.Equal(CompileAction.Rebuild, compiled.Action);
        Assert.Equal(written.AddDays(-1), File.GetLastWriteTimeUtc(weights)); // fp16 is also what an int8 compile keeps in ckpt/

        var bf16 = ModelCompiler.Compile(Options() with { Dtype = HdxDtype.BF16, Force = true }, NullReporter.Instance, CancellationToken.None);
        Assert.Equal(HdxDtype.BF16, ConvertedCheckpoint.Load(bf16.Path).Dtype);
    }

    [Fact]
    public void ChecksDeviceMemoryAndSuggestsMoreDevices()
    {
        var error = Fails(Options() with { DeviceMemoryBytes = 64 * 1024 });
        Assert.Equal(("ModelTooLargeForDevices", HdxErrorKind.ResourceUnavailable), (error.ErrorId, error.Kind));
        // 4 devices replicate the 2 KV heads (each device's query heads share one), as Megatron and vLLM do.
        Assert.Equal("Use -NumDevice 2 or 4, or a smaller -MaxLength.", error.RecommendedAction);
    }

    [Fact]
    public void HostBudgetCountsEveryImageAndAnFp32KvCache()
    {
        var built = ModelCompiler.Compile(Options(2) with { MaxLength = 100 }, NullReporter.Instance, CancellationToken.None);
        long images = Enumerable.Range(0, 2).Sum(d => new FileInfo(CompiledLayout.ParamImage(built.Path, 2, d)).Length);
        long kv = 2L * 2 /* layers */ * 2 /* KV heads */ * 16 /* head dim */ * 100 * sizeof(float);
        var fits = Options(2) with { OutputPath = Path.Combine(_temp, "plan"), MaxLength = 100, HostMemoryBudget = images + kv };
        using (var plan = CompilePlan.Create(fits, NullReporter.Instance, CancellationToken.None))
        {
            Assert.Equal(CompileAction.Build, plan.Action);
        }

        var error = Assert.Throws<HdxException>(() => CompilePlan.Create(fits with { HostMemoryBudget = images + kv - 1 }, NullReporter.Instance, CancellationToken.None));
        Assert.Equal(("ModelTooLargeForHost", HdxErrorKind.ResourceUnavailable), (error.ErrorId, error.Kind));
    }

    [Fact]
    public void PlanningWritesNothing()
    {
        using var plan = CompilePlan.Create(Options(2), NullReporter.Instance, CancellationToken.None);
        Assert.Equal(CompileAction.Build, plan.Action);
        Assert.Contains("2 device(s)", plan.Description, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(_output)));
    }

    [Fact]
    public void CompilesASlidingWindowIntoTheAttentionOps()
    {
        EditConfig(c => { c["architectures"] = new JsonArray("MistralForCausalLM"); c["sliding_window"] = 128; });
        var result = ModelCompiler.Compile(Options() with { MaxLength = 200 }, NullReporter.Instance, CancellationToken.None);
        var program = CompiledJson.Read<DeviceProgram>(CompiledLayout.Program(result.Path, 1, 0));
        Assert.All(program.Instructions.Where(i => i.Op == OpCode.Attention), i => Assert.Equal(128, i.Attributes["window"]));
    }

    [Fact]
    public void RecognisesAConfigThatContradictsTheWeights()
    {
        EditConfig(c => c["num_hidden_layers"] = 3);
        Assert.Equal("ConfigContradictsWeights", Fails().ErrorId);
        EditConfig(c => { c["num_hidden_layers"] = 1; });
        Assert.Equal("ConfigContradictsWeights", Fails().ErrorId);
        EditConfig(c => { c["num_hidden_layers"] = 2; c["hidden_size"] = 32; });
        Assert.Equal("ConfigContradictsWeights", Fails().ErrorId);
    }

    [Fact]
    public void ReportsAMissingTensor()
    {
        // With attention_bias the Llama descriptor expects q/k/v biases, which the checkpoint does not hold.
        EditConfig(c => c["attention_bias"] = true);
        var error = Fails();
        Assert.Equal("CheckpointTensorMissing", error.ErrorId);
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsATokenizerLargerThanTheEmbedding()
    {
        string folder = Path.Combine(_temp, "small");
        TinyModel.Write(folder, new TinyModelSpec { Vocab = 270 });
        File.Copy(Path.Combine(_model, "tokenizer.json"), Path.Combine(folder, "tokenizer.json"), overwrite: true);
        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(Options() with { SourcePath = folder }, NullReporter.Instance, CancellationToken.None));
        Assert.Equal("TokenizerVocabMismatch", error.ErrorId);
    }

    [Fact]
    public void RefusesToAddAVariantFromAnotherSource()
    {
        ModelCompiler.Compile(Options(), NullReporter.Instance, CancellationToken.None);
        string other = Path.Combine(_temp, "src", "other");
        TinyModel.Write(other, new TinyModelSpec { Seed = 2 });
        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(Options(2) with { SourcePath = other }, NullReporter.Instance, CancellationToken.None));
        Assert.Equal("CompiledModelMismatch", error.ErrorId);
        Assert.Equal(CompileAction.Rebuild, ModelCompiler.Compile(Options(2) with { SourcePath = other, Force = true }, NullReporter.Instance, CancellationToken.None).Action);
    }

    [Fact]
    public void RebuildsWhenTheSameHubModelComesFromANewRevision()
    {
        string first = Path.Combine(_temp, "snapshots", "aaaa");
        string second = Path.Combine(_temp, "snapshots", "bbbb");
        TinyModel.Write(first, new TinyModelSpec { Seed = 1 });
        TinyModel.Write(second, new TinyModelSpec { Seed = 2 });
        ModelCompiler.Compile(Options() with { SourcePath = first, ModelId = "test-org/tiny" }, NullReporter.Instance, CancellationToken.None);

        var result = ModelCompiler.Compile(Options() with { SourcePath = second, ModelId = "test-org/tiny" }, NullReporter.Instance, CancellationToken.None);

        Assert.Equal(CompileAction.Rebuild, result.Action);
        Assert.Equal(Path.GetFullPath(second), CompiledJson.Read<CompiledManifest>(CompiledLayout.Manifest(_output)).SourcePath);
        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(Options() with { SourcePath = first, ModelId = "other-org/tiny" }, NullReporter.Instance, CancellationToken.None));
        Assert.Equal("CompiledModelMismatch", error.ErrorId);
    }

    [Fact]
    public void RefusesAForeignFolderAndKeepsIt()
    {
        Directory.CreateDirectory(_output);
        File.WriteAllText(Path.Combine(_output, "mine.txt"), "keep");
        Assert.Equal("OutputPathNotEmpty", Assert.Throws<HdxException>(() => ModelCompiler.Compile(Options(), NullReporter.Instance, CancellationToken.None)).ErrorId);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(_output, "mine.txt")));
    }

    /// <summary>Cancels the token (as Ctrl+C does) at the first progress report of a phase.</summary>
    private sealed class CancelOnPhase(CancellationTokenSource cancellation, string status) : IHdxReporter
    {
        public bool Cancelled { get; private set; }

        public void Progress(HdxProgress progress)
        {
            if (progress.Status.StartsWith(status, StringComparison.Ordinal) && !Cancelled)
            {
                Cancelled = true;
                cancellation.Cancel();
            }
        }

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }
    }
}
