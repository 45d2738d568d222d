using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>Concurrent variant builds, killed compiles and odd output targets: no lost work, no leaked temporaries, errors first.</summary>
public sealed class CompileOutputHazardTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-hazard-").FullName;
    private readonly string _model;

    public CompileOutputHazardTests()
    {
        _model = Path.Combine(_temp, "src");
        TinyModel.Write(_model, new TinyModelSpec { Heads = 4, KvHeads = 4 });
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private CompileOptions Options(string output, int numDevice = 1) => new() { SourcePath = _model, OutputPath = output, NumDevice = numDevice, Dtype = HdxDtype.BF16 };

    [Fact]
    public void TwoVariantsAddedAtOnceBothLandInTheManifest()
    {
        string output = Path.Combine(_temp, "out");
        ModelCompiler.Compile(Options(output), NullReporter.Instance, CancellationToken.None);
        using var start = new Barrier(2);
        var builds = new[] { 2, 4 }.Select(n => Task.Run(() =>
        {
            using var plan = CompilePlan.Create(Options(output, n), NullReporter.Instance, CancellationToken.None);
            start.SignalAndWait(); // both planned against the manifest listing only 1
            return ModelCompiler.Execute(plan, NullReporter.Instance, CancellationToken.None);
        })).ToArray();
        Task.WaitAll(builds);

        var manifest = CompiledJson.Read<CompiledManifest>(CompiledLayout.Manifest(output));
        Assert.Equal([1, 2, 4], manifest.Variants.Select(v => v.NumDevice));
        Assert.Contains("param/4/device3.bin", manifest.Files!.Keys);
        Assert.Contains("inst/2/device1.json", manifest.Files!.Keys);
        Assert.True(Runtime.Engine.CompiledModelVerifier.Verify(output, NullReporter.Instance, CancellationToken.None).IsValid);
    }

    [Fact]
    public void TemporariesOfAKilledCompileAreSweptAndThoseOfARunningOneKept()
    {
        string output = Path.Combine(_temp, "out");
        ModelCompiler.Compile(Options(output), NullReporter.Instance, CancellationToken.None);

        // A process that has exited stands for a compile killed with SIGKILL (its finally never ran).
        using var gone = System.Diagnostics.Process.Start("true")!;
        gone.WaitForExit();
        string stale = Path.Combine(_temp, $".out.hdx-tmp-{gone.Id}-0123abcd");
        string staleVariant = Path.Combine(output, $".2.hdx-tmp-{gone.Id}-89abcdef");
        string running = Path.Combine(_temp, $".out.hdx-tmp-{Environment.ProcessId}-fedcba98");
        foreach (string folder in new[] { stale, staleVariant, running })
        {
            Directory.CreateDirectory(Path.Combine(folder, "param"));
            File.WriteAllBytes(Path.Combine(folder, "param", "device0.bin"), new byte[4096]);
        }

        ModelCompiler.Compile(Options(output, 2), NullReporter.Instance, CancellationToken.None);
        ModelCompiler.Compile(Options(output) with { Force = true }, NullReporter.Instance, CancellationToken.None);

        Assert.False(Directory.Exists(stale));
        Assert.False(Directory.Exists(staleVariant));
        Assert.True(Directory.Exists(running), "a temporary whose owner runs was removed");
    }

    [Fact]
    public void AFileAsTheOutputIsRefusedBeforeAnyWork()
    {
        string output = Path.Combine(_temp, "taken");
        File.WriteAllText(output, "not a folder");
        var reporter = new PhaseRecorder();
        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(Options(output), reporter, CancellationToken.None));
        Assert.Equal("OutputPathIsFile", error.ErrorId);
        Assert.DoesNotContain(reporter.Statuses, s => s.Contains("Phase 3", StringComparison.Ordinal));
        Assert.Equal("not a folder", File.ReadAllText(output));
    }

    [Fact]
    public void TokenizerFilesTheLoaderNeverReadsAreNotCopied()
    {
        // merges.txt and vocab.json beside a tokenizer.json, linked to a file outside the model folder.
        string secret = Path.Combine(_temp, "secret.txt");
        File.WriteAllText(secret, "not for the compiled model");
        File.CreateSymbolicLink(Path.Combine(_model, "merges.txt"), secret);
        File.CreateSymbolicLink(Path.Combine(_model, "vocab.json"), secret);
        string output = Path.Combine(_temp, "out");

        var result = ModelCompiler.Compile(Options(output), NullReporter.Instance, CancellationToken.None);

        string tokenizer = CompiledLayout.Tokenizer(output);
        Assert.False(File.Exists(Path.Combine(tokenizer, "merges.txt")));
        Assert.False(File.Exists(Path.Combine(tokenizer, "vocab.json")));
        Assert.DoesNotContain("merges.txt", result.Manifest.TokenizerFiles);
        Assert.DoesNotContain(Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains("not for the compiled model", StringComparison.Ordinal));
    }

    private sealed class PhaseRecorder : IHdxReporter
    {
        public List<string> Statuses { get; } = [];

        public void Progress(HdxProgress progress) => Statuses.Add(progress.Activity + " " + progress.Status);

        public void Verbose(string message) => Statuses.Add(message);

        public void Warning(string message)
        {
        }
    }
}
