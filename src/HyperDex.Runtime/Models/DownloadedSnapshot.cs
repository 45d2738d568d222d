namespace HyperDex.Runtime.Models;

/// <summary>One downloaded snapshot (a commit) of a model in the Hugging Face cache (Get-HdxModel -Downloaded).</summary>
public sealed record DownloadedSnapshot
{
    public required string ModelId { get; init; }

    /// <summary>The commit hash the snapshot holds.</summary>
    public required string Revision { get; init; }

    /// <summary>Branches or tags (refs/) that point at this commit, such as main.</summary>
    public required IReadOnlyList<string> Refs { get; init; }

    /// <summary>The snapshot folder (…/models--org--name/snapshots/&lt;commit&gt;): what a compile reads.</summary>
    public required string Path { get; init; }

    public required int Files { get; init; }

    /// <summary>Bytes of the blobs its files link to.</summary>
    public required long SizeBytes { get; init; }

    public required DateTime LastModified { get; init; }
}
