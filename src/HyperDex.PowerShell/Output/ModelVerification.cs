namespace HyperDex;

/// <summary>What Test-HdxModel checked in one compiled model and what it found wrong.</summary>
public sealed class ModelVerification
{
    internal ModelVerification(HyperDex.Runtime.Engine.ModelVerification result)
    {
        Path = result.Path;
        ModelId = result.ModelId;
        NumDevice = result.Variants.ToArray();
        HasChecksums = result.HasChecksums;
        FilesChecked = result.FilesChecked;
        BytesChecked = result.BytesChecked;
        Problems = result.Problems.Select(p => $"{p.ErrorId}: {p.Message}").ToArray();
        IsValid = result.IsValid;
    }

    /// <summary>True when nothing is wrong.</summary>
    public bool IsValid { get; }

    /// <summary>The compiled model folder.</summary>
    public string Path { get; }

    public string ModelId { get; }

    /// <summary>The device counts compiled (each one checked and bound by the engine).</summary>
    public int[] NumDevice { get; }

    /// <summary>False for a folder compiled before hdx.json recorded checksums: only its structure could be checked.</summary>
    public bool HasChecksums { get; }

    public int FilesChecked { get; }

    public long BytesChecked { get; }

    /// <summary>"ErrorId: message" for each problem found; empty when <see cref="IsValid"/>.</summary>
    public string[] Problems { get; }
}
