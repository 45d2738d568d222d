using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>MixtralForCausalLM: Mistral's attention with a mixture of w1/w3/w2 experts in every layer, top-k renormalised.</summary>
internal sealed class Mixtral : ArchitectureDescriptor
{
    public override string Name => "MixtralForCausalLM";

    public override string Families => "Mixtral";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        var block = new BlockSpec
        {
            Mlp = MlpKind.Experts,
            Experts = b.Require("num_local_experts", "num_experts"),
            ExpertsPerToken = b.Require("num_experts_per_tok"),
            NormalizeTopK = true,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Windowed(b, _ => true).Select(l => l with { Experts = true }).ToArray(),
        };
        var names = new LlamaNames
        {
            Router = "block_sparse_moe.gate",
            ExpertGate = "block_sparse_moe.experts.{e}.w1",
            ExpertUp = "block_sparse_moe.experts.{e}.w3",
            ExpertDown = "block_sparse_moe.experts.{e}.w2",
        };
        return LlamaStyle.Build(b, block, names, expertIntermediate: b.Intermediate);
    }
}
