using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>MistralForCausalLM: Llama's layout with sliding-window attention on every layer when sliding_window is set.</summary>
internal sealed class Mistral : ArchitectureDescriptor
{
    public override string Name => "MistralForCausalLM";

    public override string Families => "Mistral";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6);
        var block = new BlockSpec
        {
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Windowed(b, _ => true),
        };
        return LlamaStyle.Build(b, block);
    }
}
