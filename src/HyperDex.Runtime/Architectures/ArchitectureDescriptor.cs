using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures;

/// <summary>What a tensor is to the compiler: matrices take the target dtype, norms and biases stay F32.</summary>
public enum TensorRole
{
    Embedding,
    Matrix,
    Norm,
    Bias,
}

/// <summary>A run of source rows (after any transpose) that becomes the next rows of a canonical tensor.</summary>
public readonly record struct RowRange(long Start, long Count);

/// <summary>
/// How a canonical tensor is cut from its checkpoint tensor at compile time: transposed (GPT-2's Conv1D stores
/// [in, out]), a selection of rows (one part of a fused q/k/v or gate/up, a per-head de-interleave, one expert of a
/// fused expert block), plus a constant (Gemma's (1 + w) norms folded into the weight).
/// </summary>
public sealed record TensorTransform
{
    public static TensorTransform None { get; } = new();

    public bool Transpose { get; init; }

    public IReadOnlyList<RowRange>? Rows { get; init; }

    public float AddConstant { get; init; }

    public bool IsNone => !Transpose && Rows is null && AddConstant == 0;

    public string Describe()
    {
        var parts = new List<string>();
        if (Transpose)
        {
            parts.Add("transposed");
        }

        if (Rows is { } rows)
        {
            parts.Add(rows.Count == 1 ? $"rows {rows[0].Start}..{rows[0].Start + rows[0].Count - 1}" : $"{rows.Count} row runs");
        }

        if (AddConstant != 0)
        {
            parts.Add($"+{AddConstant}");
        }

        return string.Join(", ", parts);
    }
}

/// <summary>
/// A canonical tensor of the compiled model, resolved for one config: its name, shape and split, and where it comes
/// from (<paramref name="Source"/> of <paramref name="SourceShape"/> through <paramref name="Transform"/>).
/// </summary>
public sealed record ExpectedTensor(string Canonical, string Source, IReadOnlyList<long> Shape, int SplitAxis,
    string? SplitDimension, TensorRole Role, int Layer)
{
    public IReadOnlyList<long> SourceShape { get; init; } = Shape;

    public TensorTransform Transform { get; init; } = TensorTransform.None;

    public long ElementCount => Shape.Aggregate(1L, (product, dim) => product * dim);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public string SourceShapeText => "[" + string.Join(", ", SourceShape) + "]";
}

/// <summary>
/// An architecture as data plus one resolving step: the HF class it reads, the config keys it needs (with HF's
/// aliases and defaults), the block structure it chooses and the tensor rules that map checkpoint tensors to the
/// canonical ones. Each descriptor lives in its own file under Descriptors/.
/// </summary>
public abstract class ArchitectureDescriptor
{
    /// <summary>The HF class name in config.json's architectures[0].</summary>
    public abstract string Name { get; }

    /// <summary>Model families it covers, for messages and README.</summary>
    public abstract string Families { get; }

    /// <summary>The base model's prefix ("model.", "transformer."); some checkpoints drop it (original GPT-2 weights).</summary>
    public virtual string BasePrefix => "model.";

    /// <summary>
    /// Checkpoint tensors that are not parameters and are ignored (name suffixes): rotary inv_freq caches, GPT-2's
    /// causal-mask buffers. Anything else the rules do not consume is an error.
    /// </summary>
    public virtual IReadOnlyList<string> IgnoredSuffixes => [".rotary_emb.inv_freq"];

    /// <summary>Reads the config (aliases, defaults, refusals) and produces the shape, block and tensors.</summary>
    public abstract ModelShape Resolve(HfModelConfig config);
}
