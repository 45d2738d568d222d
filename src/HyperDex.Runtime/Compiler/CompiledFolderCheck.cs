using System.Globalization;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Whether an existing compiled folder with a readable hdx.json may be reused as it stands: every file a part needs
/// is there (a parameter image as long as its index says), and the source files still have the hashes hdx.json
/// recorded. A compile reuses only what passes, and rebuilds the rest.
/// </summary>
internal static class CompiledFolderCheck
{
    /// <summary>
    /// Whether the folder keeps its converted checkpoint (compiled with -KeepCheckpoint, or from Convert-HdxModel's
    /// ckpt/): hdx.json then lists ckpt/hdx_model.safetensors among its files. Without it, a new variant streams the
    /// weights from the source again.
    /// </summary>
    public static bool KeepsCheckpoint(CompiledManifest manifest) =>
        manifest.Files?.ContainsKey(CompiledLayout.CheckpointDirectory + "/" + CompiledLayout.CheckpointWeightsFile) == true;

    /// <summary>
    /// Files shared by every variant that are missing: ckpt/hdx_config.json, the kept checkpoint weights when hdx.json
    /// lists them (a new variant is built from them), and the tokenizer files.
    /// </summary>
    public static IReadOnlyList<string> MissingShared(string output, CompiledManifest manifest)
    {
        var checkpoint = KeepsCheckpoint(manifest)
            ? new[] { CompiledLayout.CheckpointConfig(output), CompiledLayout.CheckpointWeights(output) }
            : new[] { CompiledLayout.CheckpointConfig(output) };
        var needed = checkpoint.Concat(manifest.TokenizerFiles.Select(f => Path.Combine(CompiledLayout.Tokenizer(output), f)));
        return needed.Where(f => !File.Exists(f)).Select(f => Path.GetRelativePath(output, f)).ToList();
    }

    /// <summary>Files of the <paramref name="numDevice"/>-device variant that are missing, unreadable or truncated.</summary>
    public static IReadOnlyList<string> MissingVariant(string output, int numDevice)
    {
        var missing = new List<string>();
        for (int d = 0; d < numDevice; d++)
        {
            string image = CompiledLayout.ParamImage(output, numDevice, d);
            string index = CompiledLayout.ParamIndex(output, numDevice, d);
            string program = CompiledLayout.Program(output, numDevice, d);
            missing.AddRange(new[] { image, index, program }.Where(f => !File.Exists(f)).Select(f => Path.GetRelativePath(output, f)));
            if (File.Exists(image) && File.Exists(index))
            {
                long length = new FileInfo(image).Length;
                if (ImageBytes(index) is not long expected)
                {
                    missing.Add(Path.GetRelativePath(output, index) + " (unreadable)");
                }
                else if (length != expected)
                {
                    missing.Add(Path.GetRelativePath(output, image) + string.Create(CultureInfo.InvariantCulture, $" (truncated: {length} of {expected} bytes)"));
                }
            }
        }

        return missing;
    }

    /// <summary>Source files whose hash differs from the one hdx.json recorded, or that were added or removed since.</summary>
    public static IReadOnlyList<string> ChangedSourceFiles(CompiledManifest manifest, IReadOnlyDictionary<string, string> hashes) =>
        hashes.Keys.Union(manifest.SourceHashes.Keys, StringComparer.Ordinal)
            .Where(f => !hashes.TryGetValue(f, out string? now) || !manifest.SourceHashes.TryGetValue(f, out string? then) || now != then)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>-NoRebuild and a compiled model whose source changed since it was compiled.</summary>
    public static HdxException SourceChanged(string output, string source, IReadOnlyList<string> files) =>
        new("CompiledModelSourceChanged", HdxErrorKind.InvalidData,
            $"{output} was compiled from files of {source} that have changed since ({Describe(files)}); -NoRebuild forbids rebuilding it.",
            output, "Run the same Invoke-HdxCompile without -NoRebuild to rebuild it from the current source.");

    public static string Describe(IReadOnlyList<string> files) =>
        string.Join(", ", files.Take(3)) + (files.Count > 3 ? string.Create(CultureInfo.InvariantCulture, $" and {files.Count - 3} more") : "");

    private static long? ImageBytes(string index)
    {
        try
        {
            return CompiledJson.Read<ParamIndex>(index).TotalBytes;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or NotSupportedException)
        {
            return null;
        }
    }
}
