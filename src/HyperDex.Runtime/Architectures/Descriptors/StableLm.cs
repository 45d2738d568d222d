using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// StableLmForCausalLM: LayerNorm with bias, partial rotary (partial_rotary_factor), optional q/k/v biases, and a
/// parallel block with one shared norm when use_parallel_residual.
/// </summary>
internal sealed class StableLm : ArchitectureDescriptor
{
    public override string Name => "StableLmForCausalLM";

    public override string Families => "StableLM 2, StableLM Zephyr";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        if (config.Bool("qk_layernorm") == true)
        {
            throw b.Unsupported("qk_layernorm", "per-head LayerNorms with separate weights per head are not implemented");
        }

        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Residual = config.Bool("use_parallel_residual") == true ? ResidualKind.Parallel : ResidualKind.Sequential,
            QkvBias = config.Bool("use_qkv_bias") ?? false,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Uniform(b),
        };
        return LlamaStyle.Build(b, block);
    }
}
