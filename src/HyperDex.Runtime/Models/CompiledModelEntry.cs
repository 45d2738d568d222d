using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Models;

/// <summary>A compiled model folder found under the models root (Get-HdxModel).</summary>
public sealed record CompiledModelEntry
{
    public required string ModelId { get; init; }

    public required string Path { get; init; }

    public required HdxDtype Dtype { get; init; }

    public required int MaxLength { get; init; }

    /// <summary>The device counts the folder is compiled for.</summary>
    public required IReadOnlyList<int> Variants { get; init; }

    /// <summary>The Hub commit it was compiled from (a Hugging Face cache snapshot), or null for a local folder.</summary>
    public string? SourceRevision { get; init; }

    public required string SourcePath { get; init; }

    public required long SizeBytes { get; init; }

    /// <summary>When a generation last loaded or reused it (UTC), else when it was compiled.</summary>
    public required DateTime LastUsed { get; init; }
}
