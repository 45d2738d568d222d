namespace HyperDex.Runtime.Compiled;

/// <summary>
/// inst/&lt;N&gt;/device&lt;d&gt;.json: the instruction stream device d runs for every forward step over a batch of T
/// tokens (T = prompt length in prefill, 1 in decode). Self-contained: the engine needs nothing else but the
/// device's ParamIndex/image. All devices of a variant run their programs in lock-step; collective ops
/// (<see cref="OpCode.ProjectAllReduceAdd"/>, <see cref="OpCode.FinalNormLogits"/>) are the synchronisation points.
/// </summary>
public sealed record DeviceProgram
{
    public int FormatVersion { get; init; } = CompiledManifest.CurrentFormatVersion;

    public required int NumDevice { get; init; }

    public required int Device { get; init; }

    public required int MaxLength { get; init; }

    /// <summary>Tokens per KV block (block table granularity, shared with the prefix cache).</summary>
    public required int KvBlockSize { get; init; }

    /// <summary>Full vocabulary size: the logits the engine assembles from every device's slice.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Activation buffers: each holds T rows of Width floats.</summary>
    public required IReadOnlyList<BufferDecl> Buffers { get; init; }

    /// <summary>One KV cache per layer for this device's local KV heads.</summary>
    public required IReadOnlyList<KvCacheDecl> KvCaches { get; init; }

    public required IReadOnlyList<Instruction> Instructions { get; init; }
}

public sealed record BufferDecl(string Name, int Width);

public sealed record KvCacheDecl(int Layer, int KvHeads, int HeadDim);

/// <summary>
/// One step. Inputs/Outputs name buffers, Weights name tensors of the device's ParamIndex ("" = absent, e.g. no bias).
/// Attributes carry every scalar the op needs (dims, eps, rope parameters) so the engine never reads config.json.
/// </summary>
public sealed record Instruction
{
    public required OpCode Op { get; init; }

    public int Layer { get; init; } = -1;

    public IReadOnlyList<string> Inputs { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Outputs { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Weights { get; init; } = Array.Empty<string>();

    public IReadOnlyDictionary<string, double> Attributes { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// The instruction set. Semantics (x = residual stream, rows = tokens of the step, positions continue the sequence):
/// </summary>
public enum OpCode
{
    /// <summary>Outputs[0] = Weights[0][tokenId] per row (embedding table [vocab, hidden], replicated). Attr: scale (optional, default 1).</summary>
    Embed,

    /// <summary>
    /// Fused RMSNorm + projections: h = rmsnorm(Inputs[0]) * Weights[0]; Outputs[i] = h · Weights[1+i]ᵀ + bias.
    /// Weights = [norm, W_1..W_n, b_1..b_n] (biases "" when absent). Attr: eps.
    /// </summary>
    NormProject,

    /// <summary>
    /// Fused rotary + KV write: rotates Inputs[0] (q, heads × headDim) and Inputs[1] (k, kvHeads × headDim) in place
    /// (HF rotate-half convention), then appends k and Inputs[2] (v) at the step's positions in the layer's cache.
    /// Attrs: heads, kvHeads, headDim, ropeTheta, ropeScalingType (0 none, 1 linear, 2 llama3), ropeFactor,
    /// ropeLowFreqFactor, ropeHighFreqFactor, ropeOriginalMaxPositions.
    /// </summary>
    RotaryKvWrite,

    /// <summary>
    /// Causal grouped-query attention of Inputs[0] (q) over the layer's cache (all positions up to each row's own)
    /// into Outputs[0] (heads × headDim). Attrs: heads, kvHeads, headDim, scale.
    /// </summary>
    Attention,

    /// <summary>
    /// Fused RMSNorm + gate/up + activation: h = rmsnorm(Inputs[0]) * Weights[0];
    /// Outputs[0] = act(h · gateᵀ) ⊙ (h · upᵀ). Weights = [norm, gate, up]. Attrs: eps, activation (0 = silu).
    /// </summary>
    NormGateUpActivation,

    /// <summary>
    /// Row-split projection joined by an all-reduce: Outputs[0] += Σ_devices (Inputs[0] · Weights[0]ᵀ), plus
    /// Weights[1] (bias, "" when absent) added once. Outputs[0] is the replicated residual stream.
    /// </summary>
    ProjectAllReduceAdd,

    /// <summary>
    /// Final RMSNorm of the last row of Inputs[0] with Weights[0], then this device's vocabulary slice of the logits:
    /// Weights[1] is lm_head rows [vocabStart, vocabStart + vocabCount). The engine gathers all slices into one
    /// vector of VocabSize. Attrs: eps, vocabStart, vocabCount.
    /// </summary>
    FinalNormLogits,
}
