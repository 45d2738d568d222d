using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>LlamaForCausalLM: RMSNorm, SwiGLU, GQA, rotate-half rotary; attention_bias biases q/k/v and o, mlp_bias the MLP.</summary>
internal sealed class Llama : ArchitectureDescriptor
{
    public override string Name => "LlamaForCausalLM";

    public override string Families => "Llama 1/2/3/3.x, TinyLlama, SmolLM";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6);
        bool attentionBias = config.Bool("attention_bias") ?? false;
        var block = new BlockSpec
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            MlpBias = config.Bool("mlp_bias") ?? false,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
