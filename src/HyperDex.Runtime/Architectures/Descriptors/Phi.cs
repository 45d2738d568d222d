using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// PhiForCausalLM (Phi-1, 1.5, 2): a parallel block under one LayerNorm, partial rotate-half rotary
/// (partial_rotary_factor), biases on every projection, tanh-GELU MLP (fc1/fc2), biased untied head, optional
/// per-head q/k LayerNorm (qk_layernorm).
/// </summary>
internal sealed class Phi : ArchitectureDescriptor
{
    public override string Name => "PhiForCausalLM";

    public override string Families => "Phi-1, Phi-1.5, Phi-2";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        bool qkNorm = config.Bool("qk_layernorm") ?? false;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Residual = ResidualKind.Parallel,
            QkvBias = true,
            OutputBias = true,
            MlpBias = true,
            Mlp = MlpKind.Plain,
            HeadBias = true,
            QkNorm = qkNorm ? QkNormKind.PerHead : QkNormKind.None,
            QkNormType = NormKind.Layer,
            Activation = b.Activation(config.Text("hidden_act"), "gelu_new"),
            Layers = LlamaStyle.Uniform(b),
        };
        b.Embedding("model.embed_tokens.weight");
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("model.layers.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "input_layernorm.weight", p + "input_layernorm.bias", l, block);
            b.SeparateAttention(l, block, p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj", p + "self_attn.dense");
            if (qkNorm)
            {
                b.QkNorms(l, block, p + "self_attn.q_layernorm", p + "self_attn.k_layernorm", withBias: true);
            }

            b.PlainMlp(l, block, p + "mlp.fc1", p + "mlp.fc2");
        }

        b.FinalNorm("model.final_layernorm.weight", "model.final_layernorm.bias", block);
        b.Head("lm_head.weight", "lm_head.bias");
        return b.Build(block);
    }
}
