using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// CohereForCausalLM (Command-R): LayerNorm without bias, one shared norm for a parallel attention + MLP block,
/// rotary on interleaved pairs, logits × logit_scale, optional per-head q/k LayerNorm (use_qk_norm).
/// </summary>
internal sealed class Cohere : ArchitectureDescriptor
{
    public override string Name => "CohereForCausalLM";

    public override string Families => "Command-R, Aya";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        bool attentionBias = config.Bool("attention_bias") ?? false;
        bool qkNorm = config.Bool("use_qk_norm") ?? false;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            Residual = ResidualKind.Parallel,
            InterleavedRotary = true,
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            QkNorm = qkNorm ? QkNormKind.PerHead : QkNormKind.None,
            QkNormType = NormKind.Layer,
            QkNormPerHeadWeights = true,
            LogitScale = config.Number("logit_scale") ?? 0.0625,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
