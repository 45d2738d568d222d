using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// A folder built under a temporary name beside its target and renamed into place only when complete. Disposing
/// without <see cref="Commit"/> removes the temporary folder and any parent folders it had to create, so a failure
/// or Ctrl+C leaves nothing behind.
/// </summary>
public sealed class AtomicFolder : IDisposable
{
    private readonly List<string> _createdParents = new();
    private bool _committed;

    public AtomicFolder(string target)
    {
        Target = Path.GetFullPath(target);
        string parent = Path.GetDirectoryName(Target) ?? throw new HdxException("OutputNotWritable", HdxErrorKind.InvalidArgument,
            $"{Target} cannot be an output folder.", Target);
        Temporary = Path.Combine(parent, $".{Path.GetFileName(Target)}.hdx-tmp-{Guid.NewGuid().ToString("N")[..8]}");
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
