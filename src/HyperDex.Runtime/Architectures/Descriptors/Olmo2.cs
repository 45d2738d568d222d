using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Olmo2ForCausalLM: post-norms (each block's output is RMS-normalised before the residual add, no pre-norm) and an
/// RMSNorm over the whole q and k projections.
/// </summary>
internal sealed class Olmo2 : ArchitectureDescriptor
{
    public override string Name => "Olmo2ForCausalLM";

    public override string Families => "OLMo 2";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        bool attentionBias = config.Bool("attention_bias") ?? false;
        var block = new BlockSpec
        {
            Placement = NormPlacement.Post,
            QkNorm = QkNormKind.Whole,
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            Clamp = config.Number("clip_qkv") ?? 0,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
