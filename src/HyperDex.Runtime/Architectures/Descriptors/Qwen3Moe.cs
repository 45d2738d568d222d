using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Qwen3MoeForCausalLM: Qwen3's attention with a mixture of experts in every decoder_sparse_step-th layer not in
/// mlp_only_layers (those keep a dense MLP); top-k weights renormalised when norm_topk_prob.
/// </summary>
internal sealed class Qwen3Moe : ArchitectureDescriptor
{
    public override string Name => "Qwen3MoeForCausalLM";

    public override string Families => "Qwen3-MoE";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6, headDimDefault: 128);
        int experts = b.Require("num_experts", "num_local_experts");
        int step = config.Whole("decoder_sparse_step") ?? 1;
        var dense = (config.Ints("mlp_only_layers") ?? []).ToHashSet();
        if (step <= 0)
        {
            throw b.Invalid("decoder_sparse_step is not positive");
        }

        bool attentionBias = config.Bool("attention_bias") ?? false;
        var layers = QwenWindows.Layers(b).Select((l, i) => l with { Experts = !dense.Contains(i) && (i + 1) % step == 0 }).ToArray();
        var block = new BlockSpec
        {
            QkvBias = attentionBias,
            OutputBias = attentionBias,
            QkNorm = QkNormKind.PerHead,
            Mlp = MlpKind.Experts,
            Experts = experts,
            ExpertsPerToken = b.Require("num_experts_per_tok"),
            NormalizeTopK = config.Bool("norm_topk_prob") ?? false,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = layers,
        };
        return LlamaStyle.Build(b, block, expertIntermediate: b.Require("moe_intermediate_size"));
    }
}
