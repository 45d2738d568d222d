using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// OPTForCausalLM: LayerNorm with bias, learned positions read at position + 2, biased projections, ReLU MLP, tied
/// head. OPT-350m's post-norm (do_layer_norm_before = false) and project_in/out (word_embed_proj_dim ≠ hidden)
/// are refused.
/// </summary>
internal sealed class Opt : ArchitectureDescriptor
{
    public override string Name => "OPTForCausalLM";

    public override string Families => "OPT (the original toolchain's default, facebook/opt-1.3b)";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        b.Eps = 1e-5; // nn.LayerNorm's default; OPT's config has no key for it
        if (config.Bool("do_layer_norm_before") == false)
        {
            throw b.Unsupported("do_layer_norm_before = false", "post-LayerNorm OPT (opt-350m)");
        }

        if ((config.Whole("word_embed_proj_dim") ?? b.Hidden) != b.Hidden)
        {
            throw b.Unsupported("word_embed_proj_dim different from hidden_size", "project_in/project_out");
        }

        if (config.Bool("layer_norm_elementwise_affine") == false)
        {
            throw b.Unsupported("layer_norm_elementwise_affine = false", "LayerNorms without weights in OPT");
        }

        bool bias = config.Bool("enable_bias") ?? true;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Positions = PositionKind.Learned,
            PositionOffset = 2,
            QkvBias = bias,
            OutputBias = bias,
            MlpBias = bias,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("activation_function"), "relu"),
            Layers = b.LayersWithoutRotary(),
        };
        b.Embedding("model.decoder.embed_tokens.weight");
        b.Add("pos_embed", "model.decoder.embed_positions.weight", [b.MaxPositions + 2L, b.Hidden], ShapeBuilder.Replicated, TensorRole.Embedding);
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("model.decoder.layers.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "self_attn_layer_norm.weight", p + "self_attn_layer_norm.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "final_layer_norm.weight", p + "final_layer_norm.bias", l, block);
            b.SeparateAttention(l, block, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj", p + "self_attn.out_proj");
            b.PlainMlp(l, block, p + "fc1", p + "fc2");
        }

        if (config.Bool("_remove_final_layer_norm") == true)
        {
            throw b.Unsupported("_remove_final_layer_norm", "OPT without a final LayerNorm");
        }

        b.FinalNorm("model.decoder.final_layer_norm.weight", "model.decoder.final_layer_norm.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
