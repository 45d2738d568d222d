using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GPT2LMHeadModel: LayerNorm with bias, learned positions, Conv1D weights stored [in, out] (transposed at compile
/// time) with q/k/v fused in c_attn, biases everywhere, tanh-GELU MLP, tied head. Checkpoints without the
/// "transformer." prefix (the original OpenAI export) are accepted; the causal-mask buffers are ignored.
/// </summary>
internal sealed class Gpt2 : ArchitectureDescriptor
{
    public override string Name => "GPT2LMHeadModel";

    public override string Families => "GPT-2, DistilGPT-2";

    public override string BasePrefix => "transformer.";

    public override IReadOnlyList<string> IgnoredSuffixes => [".attn.bias", ".attn.masked_bias"];

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5, maxPositionsDefault: 1024);
        bool scale = config.Bool("scale_attn_weights") ?? true;
        bool byLayer = config.Bool("scale_attn_by_inverse_layer_idx") ?? false;
        if (config.Bool("add_cross_attention") == true)
        {
            throw b.Unsupported("add_cross_attention", "HyperDex runs decoder-only models");
        }

        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Positions = PositionKind.Learned,
            QkvBias = true,
            OutputBias = true,
            MlpBias = true,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("activation_function"), "gelu_new"),
            // scale_attn_weights: false means no 1/√d at all; scale_attn_by_inverse_layer_idx divides by layer + 1.
            AttentionScale = scale ? 0 : 1,
            Layers = b.LayersWithoutRotary(),
            LayerScaleByIndex = byLayer,
        };
        return GptStyle.Build(b, block, b.Blocks(), transpose: true);
    }
}
