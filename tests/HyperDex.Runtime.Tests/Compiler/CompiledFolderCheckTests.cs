using System.Security.Cryptography;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tests.Engine;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>A compile reuses a folder only when its files and the source's hashes check out, and rebuilds the rest.</summary>
public sealed class CompiledFolderCheckTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Source => _temp.Sub("src");

    private string Output => _temp.Sub("out");

    private CompileOptions Options(int numDevice = 1) => new() { SourcePath = Source, OutputPath = Output, NumDevice = numDevice, Dtype = HdxDtype.F32 };

    private CompileAction Plan(CompileOptions options)
    {
        using var plan = CompilePlan.Create(options, NullReporter.Instance, CancellationToken.None);
        return plan.Action;
    }

    private CompileResult Compile(CompileOptions options) => ModelCompiler.Compile(options, NullReporter.Instance, CancellationToken.None);

    [Fact]
    public void AnIntactFolderIsReusedAndAMissingOrTruncatedVariantRebuilt()
    {
        TinyModel.Write(Source, new TinyModelSpec());
        Compile(Options(1));
        Compile(Options(2));
        Assert.Equal(CompileAction.Reuse, Plan(Options(2)));

        File.Delete(CompiledLayout.Program(Output, 2, 1));
        Assert.Equal(["inst/2/device1.json"], CompiledFolderCheck.MissingVariant(Output, 2));
        Assert.Equal(CompileAction.Reuse, Plan(Options(1))); // the 1-device variant is intact
        var repaired = Compile(Options(2));
        Assert.Equal(CompileAction.AddVariant, repaired.Action);
        Assert.Equal([1, 2], repaired.Manifest.Variants.Select(v => v.NumDevice)); // replaced, not listed twice
        Assert.Empty(CompiledFolderCheck.MissingVariant(Output, 2));

        using (var image = File.OpenWrite(CompiledLayout.ParamImage(Output, 1, 0)))
        {
            image.SetLength(image.Length - 1);
        }

        Assert.Contains("truncated", Assert.Single(CompiledFolderCheck.MissingVariant(Output, 1)), StringComparison.Ordinal);
        Assert.Equal(CompileAction.AddVariant, Compile(Options(1)).Action);
        Assert.Equal(CompileAction.Reuse, Plan(Options(1)));
    }

    [Fact]
    public void AFolderWithoutItsCheckpointOrTokenizerIsRebuilt()
    {
        TinyModel.Write(Source, new TinyModelSpec());
        var first = Compile(Options());
        File.Delete(Path.Combine(CompiledLayout.Tokenizer(Output), "tokenizer.json"));
        Assert.Equal(["tokenizer/tokenizer.json"], CompiledFolderCheck.MissingShared(Output, first.Manifest));
        Assert.Equal(CompileAction.Rebuild, Compile(Options()).Action);
        Assert.Empty(CompiledFolderCheck.MissingShared(Output, first.Manifest));
    }

    [Fact]
    public void AChangedSourceIsRebuiltOrRefusedWithNoRebuild()
    {
        TinyModel.Write(Source, new TinyModelSpec { Seed = 1 });
        Compile(Options());
        Directory.Delete(Source, recursive: true);
        TinyModel.Write(Source, new TinyModelSpec { Seed = 2 });

        var error = Assert.Throws<HdxException>(() => Plan(Options() with { NoRebuild = true }));
        Assert.Equal("CompiledModelSourceChanged", error.ErrorId);
        Assert.Contains("model.safetensors", error.Message, StringComparison.Ordinal);
        var rebuilt = Compile(Options());
        Assert.Equal(CompileAction.Rebuild, rebuilt.Action);
        using var source = ModelSource.Open(Source, null, scanNonFinite: false, CancellationToken.None);
        Assert.Empty(CompiledFolderCheck.ChangedSourceFiles(rebuilt.Manifest, source.HashFiles(CancellationToken.None)));
        Assert.Equal(CompileAction.Reuse, Plan(Options() with { NoRebuild = true }));
    }

    [Fact]
    public void AFileLinkedToAnLfsBlobTakesTheBlobNameAsItsHash()
    {
        TinyModel.Write(Source, new TinyModelSpec());
        string weights = Path.Combine(Source, "model.safetensors");
        using var plain = ModelSource.Open(Source, null, scanNonFinite: false, CancellationToken.None);
        var plainHashes = plain.HashFiles(CancellationToken.None);
        Assert.All(plainHashes.Values, hash => Assert.Matches("^xxh128:[0-9a-f]{32}$", hash));
        string sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(weights))).ToLowerInvariant();

        // The Hugging Face cache layout: snapshots/<commit>/<file> → ../../blobs/<sha256>.
        string blobs = Directory.CreateDirectory(_temp.Sub("repo/blobs")).FullName;
        string snapshot = Directory.CreateDirectory(_temp.Sub("repo/snapshots/abc")).FullName;
        File.Move(weights, Path.Combine(blobs, sha));
        foreach (string file in Directory.EnumerateFiles(Source))
        {
            File.Copy(file, Path.Combine(snapshot, Path.GetFileName(file)));
        }

        File.CreateSymbolicLink(Path.Combine(snapshot, "model.safetensors"), Path.Combine("..", "..", "blobs", sha));
        using var linked = ModelSource.Open(snapshot, null, scanNonFinite: false, CancellationToken.None);
        var linkedHashes = linked.HashFiles(CancellationToken.None);
        Assert.Equal("sha256:" + sha, linkedHashes["model.safetensors"]);
        Assert.Equal(plainHashes.Where(h => h.Key != "model.safetensors"), linkedHashes.Where(h => h.Key != "model.safetensors"));
    }

    [Fact]
    public void ChecksumsAreXxh128InTheFormXxhsumPrints()
    {
        // Reference values from xxhsum -H2 (xxHash 0.8), so a user can check an artifact with xxh128sum.
        string empty = _temp.Sub("empty");
        File.WriteAllBytes(empty, []);
        string abc = _temp.Sub("abc");
        File.WriteAllText(abc, "abc");
        Assert.Equal("99aa06d3014798d86001c324468d497f", ArtifactChecksums.Hash(empty, out _, null, CancellationToken.None));
        Assert.Equal("06b05ab6733a618578af5f94892f3950", ArtifactChecksums.Hash(abc, out long size, null, CancellationToken.None));
        Assert.Equal(3, size);
    }

    [Fact]
    public void TheImageChecksumTakenWhileWritingIsTheOneTheFileHashesTo()
    {
        TinyModel.Write(Source, new TinyModelSpec());
        var manifest = Compile(Options(2)).Manifest;
        foreach (int device in new[] { 0, 1 })
        {
            string image = CompiledLayout.ParamImage(Output, 2, device);
            var recorded = manifest.Files![ArtifactChecksums.Key(Output, image)];
            Assert.Equal(ArtifactChecksums.Hash(image, out long size, null, CancellationToken.None), recorded.Xxh128);
            Assert.Equal(size, recorded.Size);
        }
    }
}
