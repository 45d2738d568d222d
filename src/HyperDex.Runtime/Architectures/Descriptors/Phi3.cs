using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Phi3ForCausalLM (Phi-3, Phi-3.5, Phi-4-mini): Llama's computation with a fused qkv_proj (q, k, v row blocks) and
/// gate_up_proj (gate, up), partial rotary and sliding windows when set; longrope scaling is refused.
/// </summary>
internal sealed class Phi3 : ArchitectureDescriptor
{
    public override string Name => "Phi3ForCausalLM";

    public override string Families => "Phi-3, Phi-3.5, Phi-4-mini";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        var block = new BlockSpec
        {
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Windowed(b, _ => true),
        };
        return LlamaStyle.Build(b, block, new LlamaNames { FusedQkv = "qkv_proj", FusedGateUp = "gate_up_proj" });
    }
}
