using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// A folder built under a temporary name beside its target and renamed into place only when complete. Disposing
/// without <see cref="Commit"/> removes the temporary folder and any parent folders it had to create, so a failure
/// or Ctrl+C leaves nothing behind.
/// <para>
/// The target is checked before any work (a file there fails at once, not after the whole compile), and the
/// temporary folder is built on the target's own filesystem: beside it normally, but inside it when the target is a
/// mount point (an empty volume mounted for the model), which can be neither renamed nor replaced — its contents are
/// then moved in, hdx.json last, so the folder reads as incomplete until the end.
/// </para>
/// </summary>
public sealed class AtomicFolder : IDisposable
{
    private readonly List<string> _createdParents = new();
    private readonly bool _inside;
    private bool _committed;

    public AtomicFolder(string target)
    {
        Target = Path.GetFullPath(target);
        string parent = Path.GetDirectoryName(Target) ?? throw new HdxException("OutputNotWritable", HdxErrorKind.InvalidArgument,
            $"{Target} cannot be an output folder.", Target);
        if (File.Exists(Target))
        {
            throw new HdxException("OutputPathIsFile", HdxErrorKind.InvalidArgument, $"{Target} is a file, not a folder.", Target,
                "Choose a new or empty folder as -OutputPath.");
        }

        _inside = Directory.Exists(Target) && MountPoints.IsMountPoint(Target);
        string home = _inside ? Target : parent;
        StaleTemporaries.Sweep(home);
        Temporary = Path.Combine(home, StaleTemporaries.Name(Path.GetFileName(Target)));
        try
        {
            for (var dir = new DirectoryInfo(parent); dir is not null && !dir.Exists; dir = dir.Parent)
            {
                _createdParents.Add(dir.FullName);
            }

            Directory.CreateDirectory(Temporary);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            RemoveCreatedParents();
            throw NotWritable(Target, e);
        }
    }

    public string Target { get; }

    /// <summary>The folder to write into.</summary>
    public string Temporary { get; }

    public static HdxException NotWritable(string target, Exception e) =>
        new("OutputNotWritable", HdxErrorKind.PermissionDenied, $"Cannot write the output folder {target}: {e.Message}", target,
            "Choose a writable -OutputPath or set HDX_HOME to a writable folder.", e);

    /// <summary>Renames the temporary folder to the target, replacing whatever was there.</summary>
    public void Commit()
    {
        if (_inside)
        {
            CommitInside();
            return;
        }

        string? old = null;
        if (Directory.Exists(Target))
        {
            old = Temporary + "-old";
            Directory.Move(Target, old);
        }

        Directory.Move(Temporary, Target);
        _committed = true;
        if (old is not null)
        {
            Directory.Delete(old, recursive: true);
        }
    }

    /// <summary>A mount point stays: drop what an earlier compile left in it, move the new contents in, hdx.json last.</summary>
    private void CommitInside()
    {
        string manifest = CompiledLayout.Manifest(Target);
        File.Delete(manifest);
        foreach (string entry in Directory.EnumerateFileSystemEntries(Target).Where(e => e != Temporary && Path.GetFileName(e) != ManifestUpdate.LockFile).ToList())
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }

        var entries = Directory.EnumerateFileSystemEntries(Temporary).OrderBy(e => Path.GetFileName(e) == CompiledLayout.ManifestFile).ToList();
        foreach (string entry in entries)
        {
            string destination = Path.Combine(Target, Path.GetFileName(entry));
            if (Directory.Exists(entry))
            {
                Directory.Move(entry, destination);
            }
            else
            {
                File.Move(entry, destination);
            }
        }

        Directory.Delete(Temporary);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        if (Directory.Exists(Temporary))
        {
            Directory.Delete(Temporary, recursive: true);
        }

        RemoveCreatedParents();
    }

    private void RemoveCreatedParents()
    {
        foreach (string dir in _createdParents)
        {
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Directory.Delete(dir);
            }
        }
    }
}
