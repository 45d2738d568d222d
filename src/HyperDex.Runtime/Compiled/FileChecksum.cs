namespace HyperDex.Runtime.Compiled;

/// <summary>
/// Size and XXH128 (lower-case hex, xxHash's canonical big-endian form, as <c>xxh128sum</c> prints it) of one artifact
/// of a compiled model, as the compiler wrote it.
/// </summary>
public sealed record FileChecksum
{
    public required long Size { get; init; }

    public required string Xxh128 { get; init; }
}
