using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Models;

/// <summary>
/// The compiled models under a models root ($HDX_HOME/hub by default): listing, last-use stamps and removal. A
/// compiled folder is one with a readable hdx.json; the default layout is &lt;root&gt;/&lt;org&gt;/&lt;name&gt;/&lt;dtype&gt;,
/// and a folder at any depth up to <see cref="MaxDepth"/> is found (the older &lt;org&gt;/&lt;name&gt; layout too).
/// </summary>
public static class CompiledModelCatalog
{
    /// <summary>The empty file whose modification time records the last use (hdx.json itself is never rewritten for it).</summary>
    public const string LastUsedFile = ".last-used";

    private const int MaxDepth = 4;

    /// <summary>Every compiled model under <paramref name="root"/>, ordered by model id then dtype; none when the root is absent.</summary>
    public static IReadOnlyList<CompiledModelEntry> List(string root)
    {
        var found = new List<CompiledModelEntry>();
        if (Directory.Exists(root))
        {
            Collect(root, 0, found);
        }

        return found.OrderBy(e => e.ModelId, StringComparer.OrdinalIgnoreCase).ThenBy(e => e.Dtype.ToUserName(), StringComparer.Ordinal).ToList();
    }

    /// <summary>The entry of one compiled folder, or null when it is not a complete compiled model.</summary>
    public static CompiledModelEntry? Read(string folder)
    {
        var manifest = CompilePlan.ReadManifest(folder);
        if (manifest is null)
        {
            return null;
        }

        string marker = Path.Combine(folder, LastUsedFile);
        DateTime compiled = File.GetLastWriteTimeUtc(CompiledLayout.Manifest(folder));
        DateTime used = File.Exists(marker) ? File.GetLastWriteTimeUtc(marker) : compiled;
        return new CompiledModelEntry
        {
            ModelId = manifest.ModelId,
            Path = Path.GetFullPath(folder),
            Dtype = manifest.Dtype,
            MaxLength = manifest.MaxLength,
            Variants = manifest.Variants.Select(v => v.NumDevice).Order().ToList(),
            SourcePath = manifest.SourcePath,
            SourceRevision = SnapshotCommit(manifest.SourcePath),
            SizeBytes = FolderSize(folder),
            LastUsed = used > compiled ? used : compiled,
        };
    }

    /// <summary>Records that a generation used the model now; a read-only folder is left as it is.</summary>
    public static void MarkUsed(string folder)
    {
        string marker = Path.Combine(folder, LastUsedFile);
        try
        {
            if (File.Exists(marker))
            {
                File.SetLastWriteTimeUtc(marker, DateTime.UtcNow);
            }
            else
            {
                File.WriteAllBytes(marker, []);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Last-used is informational: a model on read-only storage still generates.
        }
    }

    /// <summary>Deletes a compiled model folder; refuses a folder that is not one. Returns the bytes freed.</summary>
    public static long Remove(string folder)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder))
        {
            throw new HdxException("CompiledModelNotFound", HdxErrorKind.NotFound, $"no compiled model folder at '{folder}'", folder,
                "List the compiled models with Get-HdxModel.");
        }

        if (!File.Exists(CompiledLayout.Manifest(folder)))
        {
            throw new HdxException("NotACompiledModel", HdxErrorKind.InvalidArgument,
                $"'{folder}' has no {CompiledLayout.ManifestFile}: it is not a compiled model, so Remove-HdxModel leaves it alone.", folder,
                "Give a folder Get-HdxModel lists, or delete this one yourself if you are sure.");
        }

        long size = FolderSize(folder);
        // Rename first, then delete: a failure half-way leaves a temporary, never a half-deleted model that looks complete.
        string doomed = Path.Combine(Path.GetDirectoryName(folder)!, "." + Path.GetFileName(folder) + ".hdx-tmp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.Move(folder, doomed);
        Directory.Delete(doomed, recursive: true);
        RemoveEmptyParents(Path.GetDirectoryName(folder)!);
        return size;
    }

    /// <summary>The commit of a source under a Hugging Face cache snapshot (…/snapshots/&lt;commit&gt;), else null.</summary>
    public static string? SnapshotCommit(string sourcePath)
    {
        string? parent = Path.GetFileName(Path.GetDirectoryName(sourcePath.TrimEnd(Path.DirectorySeparatorChar)));
        return parent == "snapshots" ? Path.GetFileName(sourcePath.TrimEnd(Path.DirectorySeparatorChar)) : null;
    }

    internal static long FolderSize(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static void Collect(string folder, int depth, List<CompiledModelEntry> found)
    {
        if (Read(folder) is { } entry)
        {
            found.Add(entry);
        }

        if (depth == MaxDepth)
        {
            return;
        }

        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateDirectories(folder).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (string child in children)
        {
            string name = Path.GetFileName(child);
            if (name.StartsWith('.') || name is CompiledLayout.CheckpointDirectory or CompiledLayout.ParamDirectory
                    or CompiledLayout.InstructionDirectory or CompiledLayout.TokenizerDirectory)
            {
                continue; // temporaries and a compiled folder's own parts
            }

            Collect(child, depth + 1, found);
        }
    }

    /// <summary>Removes the &lt;org&gt;/&lt;name&gt; folders a removal left empty, up to (not including) the models root.</summary>
    private static void RemoveEmptyParents(string folder)
    {
        string root = Path.GetFullPath(HdxPaths.ModelsRoot);
        for (string? dir = folder; dir is not null && dir.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal); dir = Path.GetDirectoryName(dir))
        {
            if (Directory.EnumerateFileSystemEntries(dir).Any())
            {
                return;
            }

            Directory.Delete(dir);
        }
    }
}
