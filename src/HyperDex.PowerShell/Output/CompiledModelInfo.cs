namespace HyperDex;

/// <summary>A compiled model on disk, written by Get-HdxModel (pipe it to Start-HdxGeneration or Remove-HdxModel).</summary>
public sealed class CompiledModelInfo
{
    internal CompiledModelInfo(Runtime.Models.CompiledModelEntry entry)
    {
        ModelId = entry.ModelId;
        Dtype = Runtime.Compiled.HdxDtypeNames.ToUserName(entry.Dtype);
        Variants = entry.Variants.ToArray();
        NumDevice = Variants.Length == 1 ? Variants[0] : Variants.Min();
        MaxLength = entry.MaxLength;
        Revision = entry.SourceRevision;
        SourcePath = entry.SourcePath;
        SizeBytes = entry.SizeBytes;
        LastUsed = entry.LastUsed.ToLocalTime();
        Path = entry.Path;
    }

    public string ModelId { get; }

    public string Dtype { get; }

    /// <summary>Every device count the folder is compiled for.</summary>
    public int[] Variants { get; }

    /// <summary>The device count Start-HdxGeneration uses for this object: the only variant, else the smallest.</summary>
    public int NumDevice { get; }

    public int MaxLength { get; }

    /// <summary>The Hub commit the model was compiled from; empty for a local source folder.</summary>
    public string? Revision { get; }

    public string SourcePath { get; }

    /// <summary>Bytes of the whole folder on disk.</summary>
    public long SizeBytes { get; }

    /// <summary>When a generation last used it (local time), or when it was compiled.</summary>
    public DateTime LastUsed { get; }

    /// <summary>The compiled model folder.</summary>
    public string Path { get; }
}
