using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GPTNeoXForCausalLM (Pythia, GPT-NeoX-20B): LayerNorm with bias, query_key_value fused per head (heads, 3,
/// head_dim), partial rotate-half rotary (rotary_pct), exact-GELU MLP, biases, untied embed_out head, and a
/// parallel residual with two norms when use_parallel_residual (the default).
/// </summary>
internal sealed class GptNeoX : ArchitectureDescriptor
{
    public override string Name => "GPTNeoXForCausalLM";

    public override string Families => "Pythia, GPT-NeoX, RedPajama-INCITE";

    public override string BasePrefix => "gpt_neox.";

    public override IReadOnlyList<string> IgnoredSuffixes => [".rotary_emb.inv_freq", ".attention.bias", ".attention.masked_bias"];

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        b.KvHeads = b.Heads;
        bool bias = config.Bool("attention_bias") ?? true;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Residual = config.Bool("use_parallel_residual") ?? true ? ResidualKind.ParallelTwoNorms : ResidualKind.Sequential,
            QkvBias = bias,
            OutputBias = bias,
            MlpBias = true,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("hidden_act"), "gelu"),
            Layers = LlamaStyle.Uniform(b),
        };
        b.Embedding("gpt_neox.embed_in.weight");
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("gpt_neox.layers.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "input_layernorm.weight", p + "input_layernorm.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "post_attention_layernorm.weight", p + "post_attention_layernorm.bias", l, block);
            b.FusedAttention(l, block, p + "attention.query_key_value", b.Grouped());
            b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), p + "attention.dense.weight", b.Hidden, b.QDim, "qDim", l);
            if (block.OutputBias)
            {
                b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), p + "attention.dense.bias", b.Hidden, l, TensorRole.Bias);
            }

            b.PlainMlp(l, block, p + "mlp.dense_h_to_4h", p + "mlp.dense_4h_to_h");
        }

        b.FinalNorm("gpt_neox.final_layer_norm.weight", "gpt_neox.final_layer_norm.bias", block);
        b.Head("embed_out.weight");
        return b.Build(block);
    }
}
