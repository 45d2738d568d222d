using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>Qwen3ForCausalLM: Llama's layout with a per-head RMSNorm on q and k before rotary; attention_bias as Llama.</summary>
internal sealed class Qwen3 : ArchitectureDescriptor
{
    public override string Name => "Qwen3ForCausalLM";

    public override string Families => "Qwen3";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6, headDimDefault: 128);
        bool attentionBias = config.Bool("attention_bias") ?? false;
        var block = new BlockSpec
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            QkNorm = QkNormKind.PerHead,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = QwenWindows.Layers(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
