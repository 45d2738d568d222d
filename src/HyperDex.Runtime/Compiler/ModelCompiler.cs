using System.Diagnostics;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Runs a <see cref="CompilePlan"/>: phase 2 (the converted checkpoint: by default only ckpt/hdx_config.json, the
/// weights streaming from the source straight into phase 3; all of ckpt/ with -KeepCheckpoint), phase 3 (param/N
/// images), phase 4 (inst/N programs), then hdx.json last. A full build happens in a temporary sibling folder renamed into place; a new
/// variant is built in temporary param/ and inst/ folders renamed into place before the manifest lists it.
/// </summary>
public static class ModelCompiler
{
    public static CompileResult Compile(CompileOptions options, IHdxReporter reporter, CancellationToken cancellation)
    {
        using var plan = CompilePlan.Create(options, reporter, cancellation);
        return Execute(plan, reporter, cancellation);
    }

    public static CompileResult Execute(CompilePlan plan, IHdxReporter reporter, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var progress = new CompileProgress(reporter, $"Compiling {plan.Source.ModelId}");
        try
        {
            var manifest = plan.Action switch
            {
                CompileAction.Reuse => Reuse(plan, reporter),
                CompileAction.AddVariant => AddVariant(plan, progress, cancellation),
                _ => BuildAll(plan, progress, cancellation),
            };
            var elapsed = plan.CheckTime + clock.Elapsed;
            reporter.Verbose($"Model compile complete: {plan.OutputPath} ({elapsed.TotalSeconds:0.0} s).");
            return new CompileResult(plan.OutputPath, manifest, plan.Action, elapsed, FolderSize(plan.OutputPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HdxException("OutputWriteFailed", HdxErrorKind.WriteError, $"Writing the compiled model to {plan.OutputPath} failed: {e.Message}",
                plan.OutputPath, "Check free space and permissions of the output folder.", e);
        }
        finally
        {
            progress.Complete();
        }
    }

    private static CompiledManifest Reuse(CompilePlan plan, IHdxReporter reporter)
    {
        reporter.Verbose($"{plan.OutputPath} is already compiled for {plan.Options.NumDevice} device(s); reusing it (pass -Force to rebuild).");
        return plan.Existing!;
    }

    private static CompiledManifest BuildAll(CompilePlan plan, CompileProgress progress, CancellationToken cancellation)
    {
        using var folder = new AtomicFolder(plan.OutputPath);
        string root = folder.Temporary;
        var source = plan.Source;
        var dtype = plan.Options.Dtype;
        string earlier = Path.Combine(plan.OutputPath, CompiledLayout.CheckpointDirectory);
        string staged = Path.Combine(root, CompiledLayout.CheckpointDirectory);

        // The source's hashes (hdx.json's sourceHashes, what later compiles check before reusing the folder) are taken
        // on another core while phase 3 streams the weights: both read the same files, so they share the page cache.
        using var hashing = new SourceHashing(source, cancellation);
        var converted = ReusableCheckpoint(plan, hashing);
        bool reused = converted is not null;
        bool kept = reused || plan.Options.KeepCheckpoint;
        if (reused)
        {
            progress.Begin(2, $"{earlier} already holds this source converted to {converted!.Dtype}; reusing it");
            Directory.Move(earlier, staged);
        }
        else if (kept)
        {
            progress.Begin(2, $"{source.Folder} → {CompiledLayout.CheckpointDirectory}/ as {dtype.ToUserName()} (kept: -KeepCheckpoint)");
            converted = CheckpointConverter.Write(source, root, plan.OutputPath, dtype, hashing.Hashes, (f, op) => progress.Report(2, f, op), cancellation);
        }
        else
        {
            progress.Begin(2, $"{source.Folder} streamed into {CompiledLayout.ParamDirectory}/ as {dtype.ToUserName()} (no {CompiledLayout.CheckpointDirectory}/ copy of the weights)");
        }

        try
        {
            string tokenizer = CompiledLayout.Tokenizer(root);
            Directory.CreateDirectory(tokenizer);
            foreach (string file in source.Tokenizer.Files)
            {
                File.Copy(Path.Combine(source.Folder, file), Path.Combine(tokenizer, file));
            }

            DeviceVariant variant;
            Dictionary<string, FileChecksum> written;
            if (kept)
            {
                using var checkpoint = SafetensorsFile.Open(CompiledLayout.CheckpointWeights(root));
                (variant, written) = BuildVariant(new ConvertedTensors(checkpoint, source.Shape, dtype), root, source.Shape, dtype,
                    plan.Options.NumDevice, plan.MaxLength, progress, cancellation);
            }
            else
            {
                (variant, written) = BuildVariant(new StreamedTensors(source, dtype, cancellation), root, source.Shape, dtype,
                    plan.Options.NumDevice, plan.MaxLength, progress, cancellation);
                converted = CheckpointConverter.Write(source, root, plan.OutputPath, dtype, hashing.Hashes, (_, _) => { }, cancellation, weights: false);
            }

            var manifest = new CompiledManifest
            {
                ModelId = source.ModelId,
                SourcePath = source.Folder,
                SourceHashes = hashing.Hashes,
                Architecture = source.Shape.ToManifest(),
                Dtype = dtype,
                MaxLength = plan.MaxLength,
                ParameterCount = source.Shape.ParameterCount,
                TokenizerFiles = converted!.TokenizerFiles,
                Generation = converted.Generation,
                Variants = new[] { variant },
                Files = ArtifactChecksums.ForFolder(root, written, cancellation),
            };
            WriteManifest(root, manifest);
            cancellation.ThrowIfCancellationRequested();
            folder.Commit();
            return manifest;
        }
        catch when (reused && Directory.Exists(staged) && !Directory.Exists(earlier))
        {
            Directory.Move(staged, earlier); // give the reused checkpoint back to the folder it came from
            throw;
        }
    }

    /// <summary>
    /// The checkpoint an earlier Convert-HdxModel left in an output without hdx.json, when it was converted from these
    /// very source files (same path and hashes) to this dtype; HyperDex skips phase 2 then. Never with -Force.
    /// </summary>
    private static ConvertedCheckpoint? ReusableCheckpoint(CompilePlan plan, SourceHashing hashing)
    {
        if (plan.Action != CompileAction.Rebuild || plan.Options.Force || !File.Exists(CompiledLayout.CheckpointWeights(plan.OutputPath)))
        {
            return null;
        }

        try
        {
            var converted = ConvertedCheckpoint.Load(plan.OutputPath);
            var hashes = hashing.Hashes;
            bool same = converted.SourcePath == plan.Source.Folder
                && converted.Dtype == CheckpointConverter.TensorDtype(TensorRole.Matrix, plan.Options.Dtype)
                && converted.SourceHashes.Count == hashes.Count
                && hashes.All(h => converted.SourceHashes.TryGetValue(h.Key, out string? hash) && hash == h.Value);
            return same ? converted : null;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Builds param/N and inst/N for another device count: from the kept ckpt/ when the folder has one (listed in
    /// hdx.json), else streamed from the source again — whose files the plan found unchanged since the first compile.
    /// </summary>
    private static CompiledManifest AddVariant(CompilePlan plan, CompileProgress progress, CancellationToken cancellation)
    {
        string root = plan.OutputPath;
        int n = plan.Options.NumDevice;
        var existing = plan.Existing!;
        var shape = plan.Source.Shape;
        bool kept = CompiledFolderCheck.KeepsCheckpoint(existing);
        progress.Begin(2, kept
            ? $"{CompiledLayout.CheckpointDirectory}/ already converted; building only the {n}-device variant"
            : $"building only the {n}-device variant, streamed from {plan.Source.Folder}");

        // Build beside the final folders, then rename: a stopped compile leaves only temporaries, which finally removes.
        StaleTemporaries.Sweep(root);
        string staging = Path.Combine(root, StaleTemporaries.Name(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        try
        {
            Directory.CreateDirectory(staging);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw AtomicFolder.NotWritable(root, e);
        }

        try
        {
            DeviceVariant variant;
            Dictionary<string, FileChecksum> written;
            if (kept)
            {
                using var checkpoint = SafetensorsFile.Open(CompiledLayout.CheckpointWeights(root));
                (variant, written) = BuildVariant(new ConvertedTensors(checkpoint, shape, existing.Dtype), staging, shape, existing.Dtype, n,
                    existing.MaxLength, progress, cancellation);
            }
            else
            {
                (variant, written) = BuildVariant(new StreamedTensors(plan.Source, existing.Dtype, cancellation), staging, shape, existing.Dtype, n,
                    existing.MaxLength, progress, cancellation);
            }

            cancellation.ThrowIfCancellationRequested();
            return ManifestUpdate.AddVariant(root, staging, variant, existing, written, cancellation);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// Phases 3 and 4 for one device count: writes param/N and inst/N under <paramref name="outputRoot"/> from
    /// <paramref name="tensors"/>, and returns the images' checksums taken while writing them (keys relative to the model folder).
    /// </summary>
    private static (DeviceVariant, Dictionary<string, FileChecksum>) BuildVariant(ICanonicalTensors tensors, string outputRoot, ModelShape shape,
        HdxDtype dtype, int numDevice, int maxLength, CompileProgress progress, CancellationToken cancellation)
    {
        string paramFolder = Path.GetDirectoryName(CompiledLayout.ParamImage(outputRoot, numDevice, 0))!;
        string instFolder = Path.GetDirectoryName(CompiledLayout.Program(outputRoot, numDevice, 0))!;
        Directory.CreateDirectory(paramFolder);
        Directory.CreateDirectory(instFolder);

        progress.Begin(3, $"partitioning for {numDevice} device(s) into {CompiledLayout.ParamDirectory}/{numDevice}/");
        var images = ParamMapper.Write(tensors, shape, dtype, numDevice, paramFolder, (f, op) => progress.Report(3, f, op), cancellation);
        var written = new Dictionary<string, FileChecksum>(StringComparer.Ordinal);
        for (int d = 0; d < numDevice; d++)
        {
            written[ArtifactChecksums.Key(outputRoot, CompiledLayout.ParamImage(outputRoot, numDevice, d))] = images[d].Image;
        }

        progress.Begin(4, $"{shape.Layers} layers × 6 fused steps per device into {CompiledLayout.InstructionDirectory}/{numDevice}/");
        var programs = Enumerable.Range(0, numDevice).Select(d => ProgramGenerator.Build(shape, numDevice, d, maxLength)).ToList();
        foreach (var program in programs)
        {
            cancellation.ThrowIfCancellationRequested();
            CompiledJson.Write(CompiledLayout.Program(outputRoot, numDevice, program.Device), program);
        }

        var variant = new DeviceVariant { NumDevice = numDevice, ProgramDigest = ProgramGenerator.Digest(programs), ParamBytesPerDevice = images.Max(i => i.Index.TotalBytes) };
        return (variant, written);
    }

    private static void WriteManifest(string root, CompiledManifest manifest) => ManifestUpdate.Write(root, manifest);

    private static long FolderSize(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
