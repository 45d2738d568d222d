namespace HyperDex.Runtime.Architectures;

public enum NormKind
{
    Rms,
    Layer,
}

/// <summary>Where a block's norms sit.</summary>
public enum NormPlacement
{
    /// <summary>x + f(norm(x)) (most models).</summary>
    Pre,

    /// <summary>x + norm(f(x)) (OLMo 2, EXAONE 4): the block reads the raw residual and its output is normalised.</summary>
    Post,

    /// <summary>x + norm(f(norm(x))) (Gemma 2/3).</summary>
    Sandwich,
}

public enum ResidualKind
{
    /// <summary>x += attn(norm(x)); x += mlp(norm(x)).</summary>
    Sequential,

    /// <summary>x += attn(norm(x)) + mlp(norm(x)) with one shared norm (GPT-J, Phi, Falcon-7B, Cohere).</summary>
    Parallel,

    /// <summary>x += attn(norm₁(x)) + mlp(norm₂(x)) (NeoX, Falcon-40B).</summary>
    ParallelTwoNorms,
}

public enum MlpKind
{
    /// <summary>down(act(gate·h) ⊙ up·h).</summary>
    Gated,

    /// <summary>down(act(up·h)) (GPT-2's c_fc, NeoX's dense_h_to_4h, OPT's fc1).</summary>
    Plain,

    /// <summary>A routed mixture of gated experts.</summary>
    Experts,
}

public enum PositionKind
{
    Rotary,

    /// <summary>A learned absolute position table added to the embedding (GPT-2, OPT, BigCode).</summary>
    Learned,
}

/// <summary>How q and k are normalised before rotary, if at all.</summary>
public enum QkNormKind
{
    None,

    /// <summary>Each head by itself (Qwen3, Gemma 3, Cohere): one weight shared by every head or one per head.</summary>
    PerHead,

    /// <summary>The whole projection at once (OLMo 2): statistics over every head, across devices.</summary>
    Whole,
}

/// <summary>Rotary settings of one layer (Gemma 3 has two kinds; EXAONE 4 global layers have none).</summary>
public sealed record RopeSpec(double Theta, int RotaryDim, string Scaling, double Factor, double LowFreqFactor, double HighFreqFactor,
    double OriginalMaxPositions);

/// <summary>What differs from layer to layer.</summary>
public sealed record LayerSpec(int Window, RopeSpec? Rope, bool Experts);

/// <summary>
/// The block structure an architecture descriptor chose for one config: everything the layer emitter needs to write
/// the program, and what Convert-HdxModel -ValidateOnly reports.
/// </summary>
public sealed record BlockSpec
{
    public NormKind Norm { get; init; } = NormKind.Rms;

    /// <summary>OLMo's non-parametric LayerNorm has neither weight nor bias.</summary>
    public bool NormWeight { get; init; } = true;

    public bool NormBias { get; init; }

    public NormPlacement Placement { get; init; } = NormPlacement.Pre;

    public ResidualKind Residual { get; init; } = ResidualKind.Sequential;

    public PositionKind Positions { get; init; } = PositionKind.Rotary;

    /// <summary>Rotary on interleaved pairs (GPT-J, Cohere) rather than rotate-half.</summary>
    public bool InterleavedRotary { get; init; }

    /// <summary>Learned position tables indexed at position + offset (OPT: 2).</summary>
    public int PositionOffset { get; init; }

    public bool QkvBias { get; init; }

    public bool OutputBias { get; init; }

    /// <summary>Biases on the MLP's input projections (gate/up or fc) and on down.</summary>
    public bool MlpBias { get; init; }

    public MlpKind Mlp { get; init; } = MlpKind.Gated;

    /// <summary>An <see cref="Compiled.OpSchemas.ActivationNames"/> name.</summary>
    public string Activation { get; init; } = "silu";

    public QkNormKind QkNorm { get; init; }

    public NormKind QkNormType { get; init; } = NormKind.Rms;

    /// <summary>A q/k norm weight per head (Cohere) rather than one shared by every head.</summary>
    public bool QkNormPerHeadWeights { get; init; }

    public double EmbeddingScale { get; init; } = 1;

    /// <summary>Scores × this instead of 1/√headDim (0 = the default).</summary>
    public double AttentionScale { get; init; }

    /// <summary>GPT-2's scale_attn_by_inverse_layer_idx: layer l's scores are further divided by l + 1.</summary>
    public bool LayerScaleByIndex { get; init; }

    /// <summary>Granite's residual_multiplier: every block output is scaled before it joins the residual.</summary>
    public double ResidualScale { get; init; } = 1;

    public double AttentionSoftcap { get; init; }

    public double LogitScale { get; init; } = 1;

    public double LogitSoftcap { get; init; }

    public bool HeadBias { get; init; }

    /// <summary>OLMo's clip_qkv: q, k and v clipped to ±this (0 = no clipping).</summary>
    public double Clamp { get; init; }

    public int Experts { get; init; }

    public int ExpertsPerToken { get; init; }

    public bool NormalizeTopK { get; init; }

    public required IReadOnlyList<LayerSpec> Layers { get; init; }

    /// <summary>One line for reports: the choices that matter.</summary>
    public string Describe()
    {
        var parts = new List<string>
        {
            $"{(NormWeight ? "" : "non-parametric ")}{Norm}Norm{(NormBias ? "+bias" : "")} {Placement.ToString().ToLowerInvariant()}-norm",
            Residual switch { ResidualKind.Sequential => "sequential residual", ResidualKind.Parallel => "parallel residual (one norm)", _ => "parallel residual (two norms)" },
            Positions == PositionKind.Learned ? $"learned positions{(PositionOffset != 0 ? $" (offset {PositionOffset})" : "")}"
                : $"{(InterleavedRotary ? "interleaved" : "rotate-half")} rotary",
            Mlp switch { MlpKind.Gated => $"gated {Activation} MLP", MlpKind.Plain => $"{Activation} MLP", _ => $"{Experts} experts, top {ExpertsPerToken}" },
        };
        if (QkNorm != QkNormKind.None)
        {
            parts.Add($"q/k {QkNormType}Norm {(QkNorm == QkNormKind.PerHead ? "per head" : "over the projection")}");
        }

        if (QkvBias || OutputBias || MlpBias)
        {
            parts.Add("biases " + string.Join("/", new[] { QkvBias ? "qkv" : null, OutputBias ? "o" : null, MlpBias ? "mlp" : null }.Where(p => p is not null)));
        }

        int windowed = Layers.Count(l => l.Window > 0);
        if (windowed > 0)
        {
            parts.Add($"sliding window {Layers.First(l => l.Window > 0).Window} on {windowed}/{Layers.Count} layers");
        }

        if (AttentionSoftcap > 0 || LogitSoftcap > 0)
        {
            parts.Add($"soft-caps {AttentionSoftcap:0.##}/{LogitSoftcap:0.##}");
        }

        return string.Join(", ", parts);
    }
}
