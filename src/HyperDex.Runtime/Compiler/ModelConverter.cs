using System.Diagnostics;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Convert-HdxModel: phase 2 on its own. Writes &lt;output&gt;/ckpt atomically (built as a temporary sibling, renamed
/// into place) and returns the report. Replacing a ckpt/ drops the folder's hdx.json, so a compiled model built from
/// the old checkpoint is seen as incomplete and rebuilt rather than mixed with the new one.
/// </summary>
public static class ModelConverter
{
    public static string DefaultOutput(ModelSource source, HdxDtype dtype) => HdxPaths.DefaultModelFolder(source.ModelId, dtype);

    public static ModelReport Convert(ModelSource source, string output, HdxDtype dtype, bool force, IHdxReporter reporter,
        CancellationToken cancellation)
    {
        if (dtype == HdxDtype.Q8)
        {
            throw new HdxException("DtypeNotSupported", HdxErrorKind.NotSupported, "int8 weights are not supported by the converter yet.",
                dtype.ToUserName(), "Use -Dtype fp16, bf16 or fp32.");
        }

        output = Path.GetFullPath(output);
        string ckpt = Path.Combine(output, CompiledLayout.CheckpointDirectory);
        if (Directory.Exists(ckpt) && !force)
        {
            throw new HdxException("CheckpointExists", HdxErrorKind.InvalidArgument, $"{ckpt} already exists.", ckpt,
                "Pass -Force to replace it, or choose another -OutputPath.");
        }

        var clock = Stopwatch.StartNew();
        var progress = new CompileProgress(reporter, $"Converting {source.ModelId}");
        try
        {
            // The temporary model folder receives ckpt/; only that subfolder is moved into the output.
            using var staging = new AtomicFolder(Path.Combine(output, CompiledLayout.CheckpointDirectory + ".staging"));
            progress.Begin(2, $"{source.Folder} → {ckpt} as {dtype.ToUserName()}");
            var hashes = source.HashFiles(cancellation);
            var converted = CheckpointConverter.Write(source, staging.Temporary, output, dtype, hashes, (f, op) => progress.Report(2, f, op), cancellation);
            cancellation.ThrowIfCancellationRequested();
            using var final = new AtomicFolder(ckpt);
            Directory.Delete(final.Temporary);
            Directory.Move(Path.Combine(staging.Temporary, CompiledLayout.CheckpointDirectory), final.Temporary);
            File.Delete(CompiledLayout.Manifest(output));
            final.Commit();
            reporter.Verbose($"Converted {source.ModelId} into {ckpt} in {clock.Elapsed.TotalSeconds:0.0} s.");
            return converted.Report;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HdxException("OutputWriteFailed", HdxErrorKind.WriteError, $"Writing the converted checkpoint to {ckpt} failed: {e.Message}",
                ckpt, "Check free space and permissions of the output folder.", e);
        }
        finally
        {
            progress.Complete();
        }
    }
}
