using System.Text.Json;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// ckpt/hdx_config.json: what phase 2 converted, from what, and the source config.json verbatim, so phases 3 and 4
/// can run later (another NumDevice) from ckpt/ alone.
/// </summary>
public sealed record ConvertedCheckpoint
{
    public int FormatVersion { get; init; } = CompiledManifest.CurrentFormatVersion;

    public required string ModelId { get; init; }

    public required string SourcePath { get; init; }

    public required IReadOnlyDictionary<string, string> SourceHashes { get; init; }

    /// <summary>Matrices and the embedding are in this dtype; norms and biases are F32.</summary>
    public required HdxDtype Dtype { get; init; }

    public required ModelReport Report { get; init; }

    public required JsonElement SourceConfig { get; init; }

    public required GenerationDefaults Generation { get; init; }

    /// <summary>The source's tokenizer files (copied beside ckpt by the compiler).</summary>
    public required IReadOnlyList<string> TokenizerFiles { get; init; }

    public static ConvertedCheckpoint Load(string model) => CompiledJson.Read<ConvertedCheckpoint>(CompiledLayout.CheckpointConfig(model));

    public ModelShape ResolveShape() =>
        SupportedArchitectures.Resolve(HfModelConfig.Parse(JsonSerializer.SerializeToUtf8Bytes(SourceConfig), SourcePath));
}
