namespace HyperDex.Runtime.Compiled;

/// <summary>param/&lt;N&gt;/device&lt;d&gt;.json: where each of a device's tensors sits in its weight image.</summary>
public sealed record ParamIndex
{
    public required int NumDevice { get; init; }

    public required int Device { get; init; }

    public required long TotalBytes { get; init; }

    public required IReadOnlyList<ParamTensor> Tensors { get; init; }
}

/// <summary>
/// One tensor of a device image. Matrices are [out, in] (HF Linear shape) stored in the row-interleaved tiles of
/// <see cref="WeightTiles"/>, so a decode step streams each matrix once, front to back. Vectors (norm weights,
/// biases) are plain F32.
/// </summary>
public sealed record ParamTensor
{
    /// <summary>Canonical name, e.g. "layers.3.attn.q", "embed", "lm_head", "final_norm".</summary>
    public required string Name { get; init; }

    public required HdxDtype Dtype { get; init; }

    public required IReadOnlyList<int> Shape { get; init; }

    /// <summary>Byte offset in the image, a multiple of <see cref="CompiledLayout.TensorAlignment"/>.</summary>
    public required long Offset { get; init; }

    public required long Length { get; init; }
}
