using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// FalconForCausalLM: LayerNorm with bias, a fused query_key_value in one of three layouts (multi-query: q heads then
/// one k and one v; new_decoder_architecture: grouped per KV head; else per head), a parallel block under one norm
/// (or ln_attn + ln_mlp with the new architecture), optional biases (bias), exact-GELU MLP, tied head. ALiBi
/// positions are refused.
/// </summary>
internal sealed class Falcon : ArchitectureDescriptor
{
    public override string Name => "FalconForCausalLM";

    public override string Families => "Falcon";

    public override string BasePrefix => "transformer.";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        if (config.Bool("alibi") == true)
        {
            throw b.Unsupported("alibi", "ALiBi attention biases are not implemented; only rotary Falcon models are");
        }

        bool newArchitecture = config.Bool("new_decoder_architecture") ?? false;
        bool multiQuery = config.Bool("multi_query") ?? true;
        b.KvHeads = newArchitecture ? config.Whole("num_kv_heads") ?? b.Heads : multiQuery ? 1 : b.Heads;
        bool parallel = newArchitecture || (config.Bool("parallel_attn") ?? true);
        bool twoNorms = newArchitecture && (config.Whole("num_ln_in_parallel_attn") ?? 2) == 2;
        bool bias = config.Bool("bias") ?? false;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Residual = !parallel ? ResidualKind.Sequential : twoNorms ? ResidualKind.ParallelTwoNorms : ResidualKind.Parallel,
            QkvBias = bias,
            OutputBias = bias,
            MlpBias = bias,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("activation"), "gelu"),
            Layers = LlamaStyle.Uniform(b),
        };
        b.Embedding("transformer.word_embeddings.weight");
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("transformer.h.{l}.", l);
            string first = twoNorms ? "ln_attn" : "input_layernorm";
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + first + ".weight", p + first + ".bias", l, block);
            if (block.Residual != ResidualKind.Parallel)
            {
                string second = twoNorms ? "ln_mlp" : "post_attention_layernorm";
                b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + second + ".weight", p + second + ".bias", l, block);
            }

            b.FusedAttention(l, block, p + "self_attention.query_key_value", newArchitecture || !multiQuery ? b.Grouped() : b.Blocks());
            b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), p + "self_attention.dense.weight", b.Hidden, b.QDim, "qDim", l);
            if (bias)
            {
                b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), p + "self_attention.dense.bias", b.Hidden, l, TensorRole.Bias);
            }

            b.PlainMlp(l, block, p + "mlp.dense_h_to_4h", p + "mlp.dense_4h_to_h");
        }

        b.FinalNorm("transformer.ln_f.weight", "transformer.ln_f.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
