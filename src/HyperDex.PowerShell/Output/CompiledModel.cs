namespace HyperDex;

/// <summary>A compiled model folder, as Invoke-HdxCompile leaves it.</summary>
public sealed class CompiledModel
{
    internal CompiledModel(Runtime.Compiler.CompileResult result, int numDevice)
    {
        var manifest = result.Manifest;
        Path = result.Path;
        ModelId = manifest.ModelId;
        Architecture = manifest.Architecture.Name;
        Parameters = manifest.ParameterCount;
        NumDevice = numDevice;
        Variants = manifest.Variants.Select(v => v.NumDevice).ToArray();
        MaxLength = manifest.MaxLength;
        Dtype = Runtime.Compiled.HdxDtypeNames.ToUserName(manifest.Dtype);
        SizeBytes = result.SizeBytes;
        Action = result.Action.ToString();
        ElapsedSeconds = result.Elapsed.TotalSeconds;
    }

    /// <summary>The compiled model folder (ckpt, param, inst, tokenizer, hdx.json).</summary>
    public string Path { get; }

    public string ModelId { get; }

    public string Architecture { get; }

    public long Parameters { get; }

    /// <summary>The device count this call compiled (or found compiled).</summary>
    public int NumDevice { get; }

    /// <summary>Every device count the folder is compiled for.</summary>
    public int[] Variants { get; }

    public int MaxLength { get; }

    public string Dtype { get; }

    /// <summary>Bytes of the whole folder on disk.</summary>
    public long SizeBytes { get; }

    /// <summary>Build, Rebuild, AddVariant or Reuse.</summary>
    public string Action { get; }

    /// <summary>Seconds the compile took (phase 0 included).</summary>
    public double ElapsedSeconds { get; }
}
