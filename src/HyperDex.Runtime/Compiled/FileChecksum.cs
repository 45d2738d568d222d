namespace HyperDex.Runtime.Compiled;

/// <summary>Size and sha256 (lower-case hex) of one artifact of a compiled model, as the compiler wrote it.</summary>
public sealed record FileChecksum
{
    public required long Size { get; init; }

    public required string Sha256 { get; init; }
}
