using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>Invoke-HdxCompile's inputs.</summary>
public sealed record CompileOptions
{
    /// <summary>An LPU card's HBM (Alveo U55C): 16 GiB.</summary>
    public const long LpuMemoryBytes = 16L << 30;

    public required string SourcePath { get; init; }

    /// <summary>The HF id ("org/name") recorded in hdx.json and naming the default output; null = the source folder's last two path parts.</summary>
    public string? ModelId { get; init; }

    /// <summary>null = <see cref="HdxPaths.DefaultModelFolder"/> of the model id and dtype.</summary>
    public string? OutputPath { get; init; }

    public int NumDevice { get; init; } = 1;

    /// <summary>null = min(4096, max_position_embeddings).</summary>
    public int? MaxLength { get; init; }

    public HdxDtype Dtype { get; init; } = HdxDtype.F16;

    /// <summary>Rebuild everything even when a complete compiled model exists.</summary>
    public bool Force { get; init; }

    /// <summary>Refuse (CompiledModelSourceChanged) rather than rebuild a compiled model whose source changed.</summary>
    public bool NoRebuild { get; init; }

    /// <summary>
    /// Also write the converted checkpoint (ckpt/hdx_model.safetensors, a second full copy of the weights) and keep it;
    /// by default phase 3 streams the weights from the source into the images and ckpt/ holds only hdx_config.json.
    /// </summary>
    public bool KeepCheckpoint { get; init; }

    public long DeviceMemoryBytes { get; init; } = LpuMemoryBytes;

    /// <summary>When set, all devices' weights and KV caches together must fit (the host engine's budget).</summary>
    public long? HostMemoryBudget { get; init; }
}

/// <summary>What a compile will do with the output folder.</summary>
public enum CompileAction
{
    /// <summary>A complete compiled model for this NumDevice exists: nothing to build.</summary>
    Reuse,

    /// <summary>A complete compiled model exists without this NumDevice, or with its files missing: build only param/N and inst/N (fast_compile).</summary>
    AddVariant,

    /// <summary>No compiled model: build everything.</summary>
    Build,

    /// <summary>-Force, a changed source, or a folder missing its manifest, checkpoint or tokenizer: build everything and replace it.</summary>
    Rebuild,
}

/// <summary>The outcome of a compile.</summary>
public sealed record CompileResult(string Path, CompiledManifest Manifest, CompileAction Action, TimeSpan Elapsed, long SizeBytes);
