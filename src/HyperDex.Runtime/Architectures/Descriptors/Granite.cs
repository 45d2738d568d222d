using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GraniteForCausalLM: Llama's layout with four multipliers: embeddings × embedding_multiplier, attention scores ×
/// attention_multiplier (instead of 1/√d), block outputs × residual_multiplier, logits ÷ logits_scaling.
/// </summary>
internal sealed class Granite : ArchitectureDescriptor
{
    public override string Name => "GraniteForCausalLM";

    public override string Families => "Granite 3.x";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6);
        bool attentionBias = config.Bool("attention_bias") ?? false;
        double logitsScaling = config.Number("logits_scaling") ?? 1;
        if (!(logitsScaling > 0))
        {
            throw b.Invalid("logits_scaling is not positive");
        }

        var block = new BlockSpec
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            MlpBias = config.Bool("mlp_bias") ?? false,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            EmbeddingScale = config.Number("embedding_multiplier") ?? 1,
            AttentionScale = config.Number("attention_multiplier") ?? 1,
            ResidualScale = config.Number("residual_multiplier") ?? 1,
            LogitScale = 1 / logitsScaling,
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
