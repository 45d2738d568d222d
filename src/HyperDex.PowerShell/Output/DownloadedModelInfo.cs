namespace HyperDex;

/// <summary>A model snapshot in the Hugging Face cache, written by Get-HdxModel -Downloaded and Save-HdxModel.</summary>
public sealed class DownloadedModelInfo
{
    internal DownloadedModelInfo(Runtime.Models.DownloadedSnapshot snapshot)
    {
        ModelId = snapshot.ModelId;
        Revision = snapshot.Revision;
        Refs = snapshot.Refs.ToArray();
        Files = snapshot.Files;
        SizeBytes = snapshot.SizeBytes;
        LastModified = snapshot.LastModified.ToLocalTime();
        Path = snapshot.Path;
    }

    public string ModelId { get; }

    /// <summary>The commit hash of the snapshot.</summary>
    public string Revision { get; }

    /// <summary>Branches or tags that point at it (main, ...).</summary>
    public string[] Refs { get; }

    public int Files { get; }

    /// <summary>Bytes of the downloaded files.</summary>
    public long SizeBytes { get; }

    public DateTime LastModified { get; }

    /// <summary>The snapshot folder: Invoke-HdxCompile -Path takes it.</summary>
    public string Path { get; }

    /// <summary>Always true: tells Remove-HdxModel (by property name) that this is a download, not a compiled model.</summary>
    public bool Downloaded { get; } = true;
}
