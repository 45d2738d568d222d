using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GemmaForCausalLM: RMSNorm scaling by (1 + w) (folded into the weights at compile time), embeddings × √hidden,
/// GeGLU (tanh GELU), head_dim 256 by default, tied head.
/// </summary>
internal sealed class Gemma : ArchitectureDescriptor
{
    public override string Name => "GemmaForCausalLM";

    public override string Families => "Gemma";

    public override ModelShape Resolve(HfModelConfig config) => GemmaFamily.Resolve(this, config, version: 1);
}

/// <summary>What Gemma 1, 2 and 3 share, and where they differ.</summary>
internal static class GemmaFamily
{
    public static ModelShape Resolve(ArchitectureDescriptor descriptor, HfModelConfig config, int version)
    {
        var b = new ShapeBuilder(descriptor, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-6, headDimDefault: 256);
        if (config.Bool("use_bidirectional_attention") == true)
        {
            throw b.Unsupported("use_bidirectional_attention", "HyperDex generates causally");
        }

        bool attentionBias = config.Bool("attention_bias") ?? false;
        double? queryScalar = config.Number("query_pre_attn_scalar");
        IReadOnlyList<LayerSpec> layers = version switch
        {
            1 => LlamaStyle.Uniform(b),
            // Gemma 2 without layer_types alternates, sliding first; Gemma 3 has one global layer in sliding_window_pattern.
            2 => LlamaStyle.Windowed(b, l => l % 2 == 0),
            _ => LlamaStyle.Windowed(b, l => (l + 1) % (config.Whole("sliding_window_pattern", "_sliding_window_pattern") ?? 6) != 0,
                sliding => sliding
                    ? b.Rope("sliding_attention", localTheta: config.Number("rope_local_base_freq") ?? 10000)
                    : b.Rope("full_attention", defaultTheta: 1_000_000)),
        };
        var block = new BlockSpec
        {
            Placement = version == 1 ? NormPlacement.Pre : NormPlacement.Sandwich,
            QkNorm = version == 3 ? QkNormKind.PerHead : QkNormKind.None,
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            Activation = b.Activation(config.Text("hidden_activation", "hidden_act"), "gelu_pytorch_tanh"),
            EmbeddingScale = Math.Sqrt(b.Hidden),
            AttentionScale = queryScalar is double scalar && version > 1 ? 1 / Math.Sqrt(scalar) : 0,
            AttentionSoftcap = version >= 2 ? config.Number("attn_logit_softcapping") ?? 0 : 0,
            LogitSoftcap = version >= 2 ? config.Number("final_logit_softcapping") ?? 0 : 0,
            Layers = layers,
        };
        var names = new LlamaNames { MlpNorm = version == 1 ? "post_attention_layernorm" : "pre_feedforward_layernorm" };
        return LlamaStyle.Build(b, block, names, normPlusOne: 1);
    }
}
