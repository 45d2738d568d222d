namespace HyperDex.Runtime.Architectures;

/// <summary>What a tensor is to the compiler: matrices take the target dtype, norms and biases stay F32.</summary>
public enum TensorRole
{
    Embedding,
    Matrix,
    Norm,
    Bias,
}

/// <summary>
/// One tensor of an architecture, as data. <paramref name="Canonical"/> and <paramref name="Source"/> may contain
/// "{l}" (the layer). <paramref name="Shape"/> names symbolic dimensions (hidden, intermediate, vocab, qDim, kvDim).
/// <paramref name="SplitAxis"/> is the axis divided across devices (-1 = replicated). <paramref name="When"/> names a
/// condition (qkvBias, untied) under which the tensor exists.
/// </summary>
public sealed record TensorRule(string Canonical, string Source, IReadOnlyList<string> Shape, int SplitAxis, TensorRole Role,
    string? When = null);

/// <summary>
/// An architecture as data: which HF tensors map to which canonical tensors with which shapes, how each is split for
/// tensor parallelism, and the ops of its layer program. Adding GPT-2 or Gemma is a new descriptor.
/// </summary>
public sealed record ArchitectureDescriptor
{
    /// <summary>The HF class name in config.json's architectures[0].</summary>
    public required string Name { get; init; }

    /// <summary>Families it covers, for messages.</summary>
    public required string Families { get; init; }

    public required IReadOnlyList<TensorRule> GlobalTensors { get; init; }

    public required IReadOnlyList<TensorRule> LayerTensors { get; init; }

    /// <summary>q/k/v projections always carry a bias (Qwen2), independent of config.attention_bias.</summary>
    public bool QkvBias { get; init; }

    /// <summary>HF's default for tie_word_embeddings when config.json omits it.</summary>
    public bool TiedByDefault { get; init; }

    /// <summary>When embeddings are tied, lm_head is read from this canonical tensor.</summary>
    public string TiedHeadSource { get; init; } = "embed";

    /// <summary>Activations the MLP accepts (config.hidden_act), mapped to the instruction attribute value.</summary>
    public IReadOnlyDictionary<string, int> Activations { get; init; } = new Dictionary<string, int> { ["silu"] = 0, ["swish"] = 0 };

    /// <summary>rope_scaling types this architecture supports, mapped to the ropeScalingType attribute.</summary>
    public IReadOnlyDictionary<string, int> RopeScalingTypes { get; init; } = new Dictionary<string, int> { ["default"] = 0, ["linear"] = 1, ["llama3"] = 2 };

    /// <summary>Whether config.json's sliding_window applies (Mistral) or only when use_sliding_window is set (Qwen2).</summary>
    public bool SlidingWindowNeedsFlag { get; init; }
}
