using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// ExaoneForCausalLM (EXAONE 3.0/3.5, a remote-code model): Llama's computation under GPT-style names
/// (transformer.wte, transformer.h.{l}.attn.attention.q_proj, mlp.c_fc_0/c_fc_1/c_proj, ln_1/ln_2/ln_f) and config
/// keys (num_layers, layer_norm_epsilon, activation_function).
/// </summary>
internal sealed class Exaone : ArchitectureDescriptor
{
    public override string Name => "ExaoneForCausalLM";

    public override string Families => "EXAONE 3.0, 3.5";

    public override string BasePrefix => "transformer.";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        var block = new BlockSpec
        {
            Activation = b.Activation(config.Text("activation_function", "hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        var names = new LlamaNames
        {
            Embed = "transformer.wte.weight",
            Layer = "transformer.h.{l}.",
            Attention = "attn.attention.",
            O = "out_proj",
            Gate = "c_fc_0",
            Up = "c_fc_1",
            Down = "c_proj",
            AttentionNorm = "ln_1",
            MlpNorm = "ln_2",
            FinalNorm = "transformer.ln_f",
        };
        return LlamaStyle.Build(b, block, names);
    }
}
