namespace HyperDex.Runtime.Architectures;

/// <summary>
/// Checkpoint names of the Llama-style layout (model.embed_tokens, model.layers.{l}.self_attn.q_proj, ...), which most
/// decoder families keep with a few renames; a descriptor overrides what differs.
/// </summary>
internal sealed record LlamaNames
{
    public string Embed { get; init; } = "model.embed_tokens.weight";

    public string Layer { get; init; } = "model.layers.{l}.";

    public string Attention { get; init; } = "self_attn.";

    public string Q { get; init; } = "q_proj";

    public string K { get; init; } = "k_proj";

    public string V { get; init; } = "v_proj";

    public string O { get; init; } = "o_proj";

    /// <summary>A fused q/k/v projection (Phi-3's qkv_proj), q rows then k then v; null = separate.</summary>
    public string? FusedQkv { get; init; }

    public string QNorm { get; init; } = "q_norm";

    public string KNorm { get; init; } = "k_norm";

    public string Mlp { get; init; } = "mlp.";

    public string Gate { get; init; } = "gate_proj";

    public string Up { get; init; } = "up_proj";

    public string Down { get; init; } = "down_proj";

    /// <summary>A fused gate/up projection (Phi-3's gate_up_proj), gate rows then up; null = separate.</summary>
    public string? FusedGateUp { get; init; }

    /// <summary>The attention block's input norm (pre-norm placements).</summary>
    public string AttentionNorm { get; init; } = "input_layernorm";

    /// <summary>The MLP's input norm (sequential pre-norm, sandwich, or the second norm of a parallel block).</summary>
    public string MlpNorm { get; init; } = "post_attention_layernorm";

    public string PostAttentionNorm { get; init; } = "post_attention_layernorm";

    public string PostMlpNorm { get; init; } = "post_feedforward_layernorm";

    public string FinalNorm { get; init; } = "model.norm";

    public string Head { get; init; } = "lm_head.weight";

    /// <summary>Mixture-of-experts names under the layer ("{e}" = expert).</summary>
    public string Router { get; init; } = "mlp.gate";

    public string ExpertGate { get; init; } = "mlp.experts.{e}.gate_proj";

    public string ExpertUp { get; init; } = "mlp.experts.{e}.up_proj";

    public string ExpertDown { get; init; } = "mlp.experts.{e}.down_proj";
}

/// <summary>The tensor rules of a Llama-style checkpoint for a block spec: norms by placement, attention, q/k norms, MLP or experts.</summary>
internal static class LlamaStyle
{
    /// <param name="normPlusOne">Gemma stores RMSNorm weights as w for a scale of (1 + w): folded in at compile time.</param>
    public static ModelShape Build(ShapeBuilder b, BlockSpec block, LlamaNames? names = null, float normPlusOne = 0, int? expertIntermediate = null)
    {
        names ??= new LlamaNames();
        b.Embedding(names.Embed);
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L(names.Layer, l);
            Norms(b, block, names, p, l, normPlusOne);
            string a = p + names.Attention;
            if (names.FusedQkv is { } fused)
            {
                b.FusedAttention(l, block, a + fused, b.Blocks());
                b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), a + names.O + ".weight", b.Hidden, b.QDim, "qDim", l);
                if (block.OutputBias)
                {
                    b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), a + names.O + ".bias", b.Hidden, l, TensorRole.Bias);
                }
            }
            else
            {
                b.SeparateAttention(l, block, a + names.Q, a + names.K, a + names.V, a + names.O);
            }

            if (block.QkNorm != QkNormKind.None)
            {
                b.QkNorms(l, block, a + names.QNorm, a + names.KNorm, withBias: block.QkNormType == NormKind.Layer && block.NormBias, normPlusOne);
            }

            if (block.Layers[l].Experts)
            {
                b.Experts(l, block.Experts, expertIntermediate!.Value, p + names.Router, p + names.ExpertGate, p + names.ExpertUp, p + names.ExpertDown);
            }
            else if (names.FusedGateUp is { } gateUp)
            {
                string m = p + names.Mlp;
                long[] source = [2L * b.Intermediate, b.Hidden];
                b.ColumnParallel(ShapeBuilder.L("layers.{l}.mlp.gate", l), m + gateUp + ".weight", b.Intermediate, b.Hidden, "intermediate", l,
                    new() { Rows = [new(0, b.Intermediate)] }, source);
                b.ColumnParallel(ShapeBuilder.L("layers.{l}.mlp.up", l), m + gateUp + ".weight", b.Intermediate, b.Hidden, "intermediate", l,
                    new() { Rows = [new(b.Intermediate, b.Intermediate)] }, source);
                b.RowParallel(ShapeBuilder.L("layers.{l}.mlp.down", l), m + names.Down + ".weight", b.Hidden, b.Intermediate, "intermediate", l);
            }
            else
            {
                string m = p + names.Mlp;
                b.GatedMlp(l, block, m + names.Gate, m + names.Up, m + names.Down);
            }
        }

        b.FinalNorm(names.FinalNorm + ".weight", names.FinalNorm + ".bias", block, normPlusOne);
        b.Head(names.Head);
        return b.Build(block);
    }

    /// <summary>The norms a layer has: by placement, and for a parallel block the shared or two pre-norms.</summary>
    private static void Norms(ShapeBuilder b, BlockSpec block, LlamaNames names, string p, int l, float plusOne)
    {
        void Add(string canonical, string source) => b.Norm(ShapeBuilder.L(canonical, l), p + source + ".weight", p + source + ".bias", l, block, plusOne);

        if (block.Placement != NormPlacement.Post)
        {
            Add("layers.{l}.attn_norm", names.AttentionNorm);
            if (block.Residual != ResidualKind.Parallel)
            {
                Add("layers.{l}.mlp_norm", names.MlpNorm);
            }
        }

        if (block.Placement != NormPlacement.Pre)
        {
            Add("layers.{l}.post_attn_norm", names.PostAttentionNorm);
            Add("layers.{l}.post_mlp_norm", names.PostMlpNorm);
        }
    }

    /// <summary>Every layer alike: full attention, the config's rotary settings.</summary>
    public static IReadOnlyList<LayerSpec> Uniform(ShapeBuilder b, int window = 0, RopeSpec? rope = null)
    {
        rope ??= b.Rope();
        return Enumerable.Range(0, b.Layers).Select(_ => new LayerSpec(window, rope, false)).ToArray();
    }

    /// <summary>
    /// Layers windowed where config.layer_types (or, without it, <paramref name="slidingWhenUntyped"/>) says
    /// sliding_attention and sliding_window is set.
    /// </summary>
    public static IReadOnlyList<LayerSpec> Windowed(ShapeBuilder b, Func<int, bool> slidingWhenUntyped, Func<bool, RopeSpec?>? rope = null)
    {
        int window = b.Config.Whole("sliding_window") ?? 0;
        var sliding = b.SlidingLayers(slidingWhenUntyped);
        RopeSpec? shared = rope is null ? b.Rope() : null;
        return sliding.Select(s => new LayerSpec(s ? window : 0, rope is null ? shared : rope(s), false)).ToArray();
    }
}
