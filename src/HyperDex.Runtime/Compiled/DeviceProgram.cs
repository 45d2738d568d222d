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
/// Attributes carry every number the op needs (dims, eps, rope parameters), Modes every choice by name (norm kind,
/// activation, rotary style), so the engine never reads config.json. <see cref="OpSchemas"/> says which each op takes.
/// </summary>
public sealed record Instruction
{
    public required OpCode Op { get; init; }

    public int Layer { get; init; } = -1;

    public IReadOnlyList<string> Inputs { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Outputs { get; init; } = Array.Empty<string>();

    public IReadOnlyList<string> Weights { get; init; } = Array.Empty<string>();

    public IReadOnlyDictionary<string, double> Attributes { get; init; } = new Dictionary<string, double>();

    public IReadOnlyDictionary<string, string> Modes { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The instruction set (op-set version <see cref="CompiledManifest.CurrentFormatVersion"/>). Rows are the step's
/// tokens; positions continue each row's sequence. x is the replicated residual stream. See <see cref="OpSchemas"/>
/// for each op's operands, attributes and modes.
/// </summary>
public enum OpCode
{
    /// <summary>Outputs[0] = embed[token] · scale (+ positions[position + positionOffset] when Weights[1] is set).</summary>
    Embed,

    /// <summary>
    /// Outputs[0] = norm(Inputs[0]) per group of `group` values (0 = the whole row): RMSNorm or LayerNorm (mode
    /// `kind`), then · weight (+ bias) when given; a weight as wide as one group is shared by every group.
    /// `distributed` = 1: the statistics span every device's slice of the row (a whole-projection q/k norm).
    /// </summary>
    Norm,

    /// <summary>
    /// Outputs[i] = Inputs[0] · W_iᵀ + b_i (Weights = [W_1..W_n, b_1..b_n]). Mode `epilogue`: none; `act` (each output
    /// through `activation`); `gated` (one output: act(Inputs·gateᵀ + b_g) ⊙ (Inputs·upᵀ + b_u), Weights = [gate, up,
    /// b_gate, b_up]). Attr clamp &gt; 0 clips every output to [-clamp, clamp] (OLMo clip_qkv).
    /// </summary>
    Project,

    /// <summary>
    /// Rotates Inputs[0] (q, heads × headDim) and Inputs[1] (k, kvHeads × headDim) in place at each row's position:
    /// the first rotaryDim values of every head, in mode `style` half (NeoX rotate-half) or interleaved (GPT-J pairs).
    /// </summary>
    Rotary,

    /// <summary>Appends Inputs[0] (k) and Inputs[1] (v) at the step's positions in the layer's cache.</summary>
    KvWrite,

    /// <summary>
    /// Causal grouped-query attention of Inputs[0] (q) over the layer's cache into Outputs[0]: scores · scale,
    /// soft-capped (tanh(s / softcap) · softcap) when softcap &gt; 0, limited to the last `window` positions when &gt; 0.
    /// </summary>
    Attention,

    /// <summary>
    /// Row-split projection joined by an all-reduce: r = Σ_devices (Inputs[0] · Weights[0]ᵀ) + Weights[1] (bias, added
    /// once); Outputs[0] += r · scale (mode `reduce` add) or Outputs[0] = r · scale (assign).
    /// </summary>
    ProjectAllReduce,

    /// <summary>Outputs[0] += Inputs[0] · scale (a post-normed block output joining the residual).</summary>
    Add,

    /// <summary>
    /// Mixture of experts joined by an all-reduce: per row, router logits = Inputs[0] · Weights[0]ᵀ, softmax, top
    /// `topK` experts (weights renormalised when normTopK = 1), Σ w_e · down_e(act(gate_e·h) ⊙ up_e·h); Weights =
    /// [router, gate_0, up_0, down_0, gate_1, ...] (each device holds every expert's intermediate slice).
    /// Outputs[0] += the sum (mode `reduce` add) or = it (assign).
    /// </summary>
    Experts,

    /// <summary>
    /// The last row of Inputs[0] · Weights[0]ᵀ (+ Weights[1] bias) for vocabulary rows [vocabStart, vocabStart +
    /// vocabCount), then · scale and soft-capped when softcap &gt; 0; the engine gathers all slices into VocabSize.
    /// </summary>
    Logits,
}
