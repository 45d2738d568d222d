using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Starcoder2ForCausalLM: Llama-style names with LayerNorm (bias), biases on every projection (use_bias), a plain
/// tanh-GELU MLP (c_fc/c_proj), GQA, sliding windows when set, tied head.
/// </summary>
internal sealed class Starcoder2 : ArchitectureDescriptor
{
    public override string Name => "Starcoder2ForCausalLM";

    public override string Families => "StarCoder2";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        bool bias = config.Bool("use_bias") ?? true;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            QkvBias = bias,
            OutputBias = bias,
            MlpBias = bias,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("hidden_act"), "gelu_pytorch_tanh"),
            Layers = LlamaStyle.Windowed(b, _ => true),
        };
        b.Embedding("model.embed_tokens.weight");
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("model.layers.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "input_layernorm.weight", p + "input_layernorm.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "post_attention_layernorm.weight", p + "post_attention_layernorm.bias", l, block);
            b.SeparateAttention(l, block, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj", p + "self_attn.o_proj");
            b.PlainMlp(l, block, p + "mlp.c_fc", p + "mlp.c_proj");
        }

        b.FinalNorm("model.norm.weight", "model.norm.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
