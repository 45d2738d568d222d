using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>One thing wrong with a compiled model: the ErrorId a load would fail with, and where.</summary>
public sealed record ModelProblem(string ErrorId, string Message);

/// <summary>What <see cref="CompiledModelVerifier.Verify"/> checked and found.</summary>
public sealed record ModelVerification(string Path, string ModelId, IReadOnlyList<int> Variants, bool HasChecksums, int FilesChecked,
    long BytesChecked, IReadOnlyList<ModelProblem> Problems)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// The full check of a compiled model, on demand (Test-HdxModel; worth running after copying a model between hosts):
/// every artifact's size and sha256 against hdx.json, every variant's structure, the recorded program digests,
/// every float weight finite, and each variant actually bound by the engine. Reports every problem instead of
/// stopping at the first, as a load does.
/// </summary>
public static class CompiledModelVerifier
{
    public static ModelVerification Verify(string modelPath, IHdxReporter reporter, CancellationToken cancellation)
    {
        CompiledManifest manifest = CompiledModelFiles.ReadManifestUnchecked(modelPath);
        var files = manifest.Files ?? new Dictionary<string, FileChecksum>();
        long total = Math.Max(1, files.Values.Sum(f => Math.Max(0, f?.Size ?? 0)));
        long done = 0;
        var problems = new List<ModelProblem>();
        void Progress(string file, long read)
        {
            done += read;
            reporter.Progress(new HdxProgress(1, $"Verifying {manifest.ModelId}", file, (int)Math.Min(100, done * 100 / total)));
        }

        try
        {
            problems.AddRange(CompiledModelCheck.Problems(modelPath, manifest, hashAll: true, Progress, cancellation).Select(p => new ModelProblem(p.ErrorId, p.Message)));
            if (problems.Count == 0)
            {
                foreach (var variant in manifest.Variants)
                {
                    problems.AddRange(VariantProblems(modelPath, variant, cancellation));
                }
            }
        }
        finally
        {
            reporter.Progress(new HdxProgress(1, $"Verifying {manifest.ModelId}", "done", Completed: true));
        }

        if (manifest.Files is null)
        {
            reporter.Warning($"{modelPath} was compiled before hdx.json recorded checksums: only its structure was checked. Compile it again to add them.");
        }

        return new ModelVerification(modelPath, manifest.ModelId, manifest.Variants.Select(v => v.NumDevice).ToList(), manifest.Files is not null,
            files.Count, done, problems);
    }

    private static IEnumerable<ModelProblem> VariantProblems(string modelPath, DeviceVariant variant, CancellationToken cancellation)
    {
        var programs = Enumerable.Range(0, variant.NumDevice).Select(d => CompiledModelFiles.ReadProgramUnchecked(modelPath, variant.NumDevice, d)).ToList();
        if (ProgramGenerator.Digest(programs) != variant.ProgramDigest)
        {
            yield return new("CompiledModelCorrupt", $"the programs of the {variant.NumDevice}-device variant do not match hdx.json's ProgramDigest");
        }

        for (int d = 0; d < variant.NumDevice; d++)
        {
            if (NonFiniteTensor(modelPath, variant.NumDevice, d, cancellation) is string tensor)
            {
                yield return new("WeightNotFinite", $"{CompiledLayout.ParamImage(modelPath, variant.NumDevice, d)}: tensor '{tensor}' holds NaN or infinite weights");
            }
        }

        string? bindProblem = null;
        try
        {
            HostEngine.Load(modelPath, variant.NumDevice, new HostEngineOptions { KvSequences = 1, PrefixCacheBytes = 0, ThreadsPerDevice = 1 }).Dispose();
        }
        catch (HdxException e)
        {
            bindProblem = $"{e.ErrorId}: {e.Message}";
        }

        if (bindProblem is not null)
        {
            yield return new("CompiledModelInvalid", bindProblem);
        }
    }

    /// <summary>The first float tensor of a device image with a NaN or Inf (Q8 values are integers; their scales are checked as F32 would be too costly to separate here).</summary>
    private static string? NonFiniteTensor(string modelPath, int numDevice, int device, CancellationToken cancellation)
    {
        var index = CompiledModelFiles.ReadParamIndex(modelPath, numDevice, device);
        using FileStream? image = RegularFile.OpenRead(CompiledLayout.ParamImage(modelPath, numDevice, device));
        if (image is null)
        {
            return null;
        }

        var buffer = new byte[1 << 20];
        foreach (var tensor in index.Tensors.Where(t => t.Dtype != HdxDtype.Q8))
        {
            image.Position = tensor.Offset;
            for (long left = tensor.Length; left > 0;)
            {
                cancellation.ThrowIfCancellationRequested();
                int read = image.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    break;
                }

                if (!ElementConversion.AllFinite(buffer.AsSpan(0, read & ~3), tensor.Dtype))
                {
                    return tensor.Name;
                }

                left -= read;
            }
        }

        return null;
    }
}
