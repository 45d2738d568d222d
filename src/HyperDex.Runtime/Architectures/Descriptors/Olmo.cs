using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>OlmoForCausalLM: Llama's layout with non-parametric LayerNorms (no weights at all) and optional clip_qkv.</summary>
internal sealed class Olmo : ArchitectureDescriptor
{
    public override string Name => "OlmoForCausalLM";

    public override string Families => "OLMo";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        b.Eps = 1e-5; // OlmoLayerNorm hard-codes it
        bool attentionBias = config.Bool("attention_bias") ?? false;
        double clip = config.Number("clip_qkv") ?? 0;
        if (clip < 0)
        {
            throw b.Invalid("clip_qkv is negative");
        }

        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormWeight = false,
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            Clamp = clip,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
