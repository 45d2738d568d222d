namespace HyperDex.Runtime.Compiler;

/// <summary>What the converter found in an HF folder (Convert-HdxModel's output, also kept in ckpt/hdx_config.json).</summary>
public sealed record ModelReport
{
    public required string SourcePath { get; init; }

    public required string ModelId { get; init; }

    public required string Architecture { get; init; }

    /// <summary>The block structure the architecture's descriptor chose for this config (<see cref="Architectures.BlockSpec.Describe"/>).</summary>
    public string Block { get; init; } = "";

    /// <summary>Every checkpoint tensor's fate: "source [shape] -> canonical [shape] (transform), split by dim" or "ignored".</summary>
    public IReadOnlyList<string> Tensors { get; init; } = Array.Empty<string>();

    public required long ParameterCount { get; init; }

    public required int Layers { get; init; }

    public required int Hidden { get; init; }

    public required int Heads { get; init; }

    public required int KvHeads { get; init; }

    public required int Vocab { get; init; }

    public required int MaxPositions { get; init; }

    public required bool TiedEmbeddings { get; init; }

    public required string TokenizerKind { get; init; }

    public required int TokenizerVocab { get; init; }

    /// <summary>The dtypes of the source weights (F32, F16, BF16).</summary>
    public required IReadOnlyList<string> Dtypes { get; init; }

    /// <summary>Findings that do not stop conversion (unexpected tensors, non-finite values, ...).</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>The converted checkpoint folder; null when only validated.</summary>
    public string? OutputPath { get; init; }

    /// <summary>The dtype converted to; null when only validated.</summary>
    public string? Dtype { get; init; }
}
