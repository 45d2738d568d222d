using System.Diagnostics;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 0 done: the source checked, the device count and memory checked, the output folder's state decided.
/// Nothing has been written yet; <see cref="ModelCompiler.Execute"/> carries it out.
/// </summary>
public sealed class CompilePlan : IDisposable
{
    /// <summary>Names HyperDex itself puts in a compiled folder; anything else means the folder is not ours.</summary>
    private static readonly HashSet<string> OwnEntries = new(StringComparer.Ordinal)
    {
        CompiledLayout.ManifestFile, CompiledLayout.ManifestFile + ".tmp", ManifestUpdate.LockFile, CompiledLayout.CheckpointDirectory,
        CompiledLayout.TokenizerDirectory, CompiledLayout.ParamDirectory, CompiledLayout.InstructionDirectory,
        Models.CompiledModelCatalog.LastUsedFile,
    };

    internal CompilePlan(CompileOptions options, ModelSource source, string output, int maxLength, CompileAction action,
        CompiledManifest? existing, Stopwatch clock)
    {
        CheckTime = clock.Elapsed;
        Options = options;
        Source = source;
        OutputPath = output;
        MaxLength = maxLength;
        Action = action;
        Existing = existing;
    }

    public CompileOptions Options { get; }

    public ModelSource Source { get; }

    public string OutputPath { get; }

    public int MaxLength { get; }

    public CompileAction Action { get; }

    public CompiledManifest? Existing { get; }

    public ModelShape Shape => Source.Shape;

    /// <summary>How long phase 0 took; added to the build time so the reported elapsed time covers the whole compile
    /// (but not a -Confirm prompt in between).</summary>
    internal TimeSpan CheckTime { get; }

    /// <summary>For ShouldProcess: what will be written where.</summary>
    public string Description => Action switch
    {
        CompileAction.Reuse => $"reuse the compiled model in {OutputPath}",
        CompileAction.AddVariant => $"add the {Options.NumDevice}-device variant to {OutputPath}",
        CompileAction.Rebuild => $"rebuild {OutputPath} for {Options.NumDevice} device(s), {Options.Dtype.ToUserName()}, max length {MaxLength}{Keeping}",
        _ => $"compile into {OutputPath} for {Options.NumDevice} device(s), {Options.Dtype.ToUserName()}, max length {MaxLength}{Keeping}",
    };

    private string Keeping => Options.KeepCheckpoint ? $", keeping the converted checkpoint in {CompiledLayout.CheckpointDirectory}/" : "";

    public static CompilePlan Create(CompileOptions options, IHdxReporter reporter, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var source = ModelSource.Open(options.SourcePath, options.ModelId, scanNonFinite: false, cancellation);
        try
        {
            return Create(options, source, reporter, clock, cancellation);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    private static CompilePlan Create(CompileOptions options, ModelSource source, IHdxReporter reporter, Stopwatch clock, CancellationToken cancellation)
    {
        var shape = source.Shape;
        Partition.Check(shape, options.NumDevice);
        int maxLength = CheckMaxLength(options, shape);
        long param = Enumerable.Range(0, options.NumDevice).Max(d => ParamMapper.ImageBytes(shape, options.Dtype, options.NumDevice, d));
        // K and V per layer, this device's KV heads: fp16 on an LPU (fp32 for an fp32 compile); the host engine keeps fp32.
        long kvElements = 2L * shape.Layers * Partition.LocalKvHeads(shape, options.NumDevice) * shape.HeadDim * maxLength;
        long kv = kvElements * (options.Dtype == HdxDtype.F32 ? 4 : 2);
        CheckMemory(options, shape, param, kv, kvElements * 4);
        reporter.Verbose($"Phase-0 Check supported model: {shape.Descriptor.Name}, {shape.Layers} layers, hidden {shape.Hidden}, " +
            $"{shape.Heads} heads / {shape.KvHeads} KV heads, vocab {shape.Vocab}, {source.Tokenizer.Kind} tokenizer; " +
            $"per device {Gib(param)} weights + {Gib(kv)} KV cache for {maxLength} tokens on {options.NumDevice} device(s).");
        foreach (string problem in source.Problems)
        {
            reporter.Warning(problem);
        }

        string output = Path.GetFullPath(options.OutputPath ?? HdxPaths.DefaultModelFolder(source.ModelId, options.Dtype));
        var (action, existing) = Decide(options, source, output, maxLength, reporter, cancellation);
        return new CompilePlan(options, source, output, maxLength, action, existing, clock);
    }

    private static int CheckMaxLength(CompileOptions options, ModelShape shape)
    {
        int maxLength = options.MaxLength ?? Math.Min(4096, shape.MaxPositions);
        if (maxLength < 1 || maxLength > shape.MaxPositions)
        {
            throw new HdxException("MaxLengthOutOfRange", HdxErrorKind.InvalidArgument,
                $"MaxLength {maxLength} is outside 1..{shape.MaxPositions} (the model's max_position_embeddings).", maxLength,
                $"Pass -MaxLength {shape.MaxPositions} or less.");
        }

        return maxLength;
    }

    private static void CheckMemory(CompileOptions options, ModelShape shape, long param, long kv, long hostKv)
    {
        if (param + kv > options.DeviceMemoryBytes)
        {
            var fits = Partition.SupportedDeviceCounts.Where(n => n > options.NumDevice && shape.Heads % n == 0 && (shape.KvHeads % n == 0 || n % shape.KvHeads == 0));
            throw new HdxException("ModelTooLargeForDevices", HdxErrorKind.ResourceUnavailable,
                $"{shape.Descriptor.Name} needs {Gib(param)} of weights and {Gib(kv)} of KV cache per device on {options.NumDevice} device(s), more than the {Gib(options.DeviceMemoryBytes)} of an LPU.",
                options.NumDevice, fits.Any() ? $"Use -NumDevice {string.Join(" or ", fits)}, or a smaller -MaxLength." : "Use a smaller -MaxLength or a smaller model.");
        }

        long total = (param + hostKv) * options.NumDevice;
        if (options.HostMemoryBudget is long budget && total > budget)
        {
            throw new HdxException("ModelTooLargeForHost", HdxErrorKind.ResourceUnavailable,
                $"{shape.Descriptor.Name} needs {Gib(total)} of weights and KV cache in total, more than the host budget of {Gib(budget)}.",
                budget, "Raise -HostMemoryBudget, or use a smaller -MaxLength or -Dtype.");
        }
    }

    private static (CompileAction, CompiledManifest?) Decide(CompileOptions options, ModelSource model, string output, int maxLength,
        IHdxReporter reporter, CancellationToken cancellation)
    {
        string source = model.Folder;
        if (!Directory.Exists(output))
        {
            return (CompileAction.Build, null);
        }

        var entries = Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName).ToList();
        var foreign = entries.Where(e => !OwnEntries.Contains(e!) && !e!.Contains(".hdx-tmp-", StringComparison.Ordinal)).ToList();
        if (foreign.Count > 0)
        {
            throw new HdxException("OutputPathNotEmpty", HdxErrorKind.InvalidArgument,
                $"{output} exists and holds files that are not a HyperDex compiled model ({string.Join(", ", foreign.Take(3))}).", output,
                "Choose an empty or new -OutputPath.");
        }

        CompiledManifest? manifest = ReadManifest(output);
        if (manifest is null)
        {
            return (entries.Count == 0 ? CompileAction.Build : CompileAction.Rebuild, null);
        }

        if (options.Force)
        {
            return (CompileAction.Rebuild, manifest);
        }

        if (manifest.SourcePath != source && options.ModelId is not null && manifest.ModelId == options.ModelId)
        {
            // A new revision of the same Hub model (another snapshot folder): the compiled model is stale.
            return Stale(options, output, source, [$"revision {Path.GetFileName(manifest.SourcePath)} is now {Path.GetFileName(source)}"], manifest, reporter);
        }

        if (manifest.SourcePath != source)
        {
            throw new HdxException("CompiledModelMismatch", HdxErrorKind.InvalidArgument,
                $"{output} is compiled from {manifest.SourcePath}, not {source}.", output,
                "Pass -Force to rebuild it from this source, or a different -OutputPath.");
        }

        if (manifest.Dtype != options.Dtype || manifest.MaxLength != maxLength)
        {
            throw new HdxException("CompiledModelMismatch", HdxErrorKind.InvalidArgument,
                $"{output} is compiled for {manifest.Dtype.ToUserName()} and max length {manifest.MaxLength}, not {options.Dtype.ToUserName()} and {maxLength}.",
                output, "Pass -Force to rebuild it, or a different -OutputPath.");
        }

        var changed = CompiledFolderCheck.ChangedSourceFiles(manifest, model.HashFiles(cancellation));
        if (changed.Count > 0)
        {
            return Stale(options, output, source, changed, manifest, reporter);
        }

        if (options.KeepCheckpoint && !CompiledFolderCheck.KeepsCheckpoint(manifest))
        {
            // The checkpoint is converted in the same pass as a full build; a folder compiled without it is rebuilt whole.
            reporter.Warning($"{output} was compiled without -KeepCheckpoint and has no converted checkpoint; rebuilding it to keep one.");
            return (CompileAction.Rebuild, manifest);
        }

        var missingShared = CompiledFolderCheck.MissingShared(output, manifest);
        if (missingShared.Count > 0)
        {
            reporter.Warning($"{output} is missing {CompiledFolderCheck.Describe(missingShared)}; rebuilding it.");
            return (CompileAction.Rebuild, manifest);
        }

        foreach (var variant in manifest.Variants.Where(v => v.NumDevice != options.NumDevice))
        {
            var broken = CompiledFolderCheck.MissingVariant(output, variant.NumDevice);
            if (broken.Count > 0)
            {
                reporter.Warning($"The {variant.NumDevice}-device variant of {output} is missing {CompiledFolderCheck.Describe(broken)}; compiling with -NumDevice {variant.NumDevice} rebuilds it.");
            }
        }

        if (!manifest.Variants.Any(v => v.NumDevice == options.NumDevice))
        {
            return (CompileAction.AddVariant, manifest);
        }

        var missing = CompiledFolderCheck.MissingVariant(output, options.NumDevice);
        if (missing.Count > 0)
        {
            reporter.Warning($"The {options.NumDevice}-device variant of {output} is missing {CompiledFolderCheck.Describe(missing)}; rebuilding it.");
            return (CompileAction.AddVariant, manifest);
        }

        return (CompileAction.Reuse, manifest);
    }

    /// <summary>The source changed since the folder was compiled: rebuild it, or refuse with -NoRebuild.</summary>
    private static (CompileAction, CompiledManifest?) Stale(CompileOptions options, string output, string source, IReadOnlyList<string> changed,
        CompiledManifest manifest, IHdxReporter reporter)
    {
        if (options.NoRebuild)
        {
            throw CompiledFolderCheck.SourceChanged(output, source, changed);
        }

        reporter.Warning($"{source} changed since {output} was compiled ({CompiledFolderCheck.Describe(changed)}); rebuilding it.");
        return (CompileAction.Rebuild, manifest);
    }

    /// <summary>The manifest of a complete compiled model, or null when absent or unreadable (an incomplete folder).</summary>
    public static CompiledManifest? ReadManifest(string output)
    {
        string path = CompiledLayout.Manifest(output);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var manifest = CompiledJson.Read<CompiledManifest>(path);
            return manifest.FormatVersion == CompiledManifest.CurrentFormatVersion ? manifest : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or NotSupportedException)
        {
            return null;
        }
    }

    internal static string Gib(long bytes) => bytes >= 1L << 30
        ? FormattableString.Invariant($"{bytes / (double)(1L << 30):0.##} GiB")
        : FormattableString.Invariant($"{bytes / (double)(1L << 20):0.##} MiB");

    public void Dispose() => Source.Dispose();
}
