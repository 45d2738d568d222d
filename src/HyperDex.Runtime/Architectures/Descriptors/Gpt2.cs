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
            Layers = Enumerable.Range(0, b.Layers).Select(_ => new LayerSpec(0, null, false)).ToArray(),
            LayerScaleByIndex = byLayer,
        };
        b.Embedding("transformer.wte.weight");
        b.Add("pos_embed", "transformer.wpe.weight", [b.MaxPositions, b.Hidden], ShapeBuilder.Replicated, TensorRole.Embedding);
        var transpose = new TensorTransform { Transpose = true };
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("transformer.h.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "ln_1.weight", p + "ln_1.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "ln_2.weight", p + "ln_2.bias", l, block);
            b.FusedAttention(l, block, p + "attn.c_attn", b.Blocks(), transpose: true);
            b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), p + "attn.c_proj.weight", b.Hidden, b.QDim, "qDim", l, transpose, [b.QDim, b.Hidden]);
            b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), p + "attn.c_proj.bias", b.Hidden, l, TensorRole.Bias);
            b.PlainMlp(l, block, p + "mlp.c_fc", p + "mlp.c_proj", transpose: true);
        }

        b.FinalNorm("transformer.ln_f.weight", "transformer.ln_f.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
