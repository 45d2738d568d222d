using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GPTJForCausalLM: a parallel attention + MLP block under one LayerNorm (ln_1), rotary on interleaved pairs of the
/// first rotary_dim values of each head, unbiased q/k/v/o, a biased tanh-GELU MLP, and a biased untied head.
/// </summary>
internal sealed class GptJ : ArchitectureDescriptor
{
    public override string Name => "GPTJForCausalLM";

    public override string Families => "GPT-J";

    public override string BasePrefix => "transformer.";

    public override IReadOnlyList<string> IgnoredSuffixes => [".attn.bias", ".attn.masked_bias"];

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        RopeSpec rope = b.Rope(rotaryDim: config.Whole("rotary_dim") ?? b.HeadDim);
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Residual = ResidualKind.Parallel,
            InterleavedRotary = true,
            MlpBias = true,
            Mlp = MlpKind.Plain,
            HeadBias = true,
            Activation = b.Activation(config.Text("activation_function"), "gelu_new"),
            Layers = LlamaStyle.Uniform(b, rope: rope),
        };
        b.Embedding("transformer.wte.weight");
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("transformer.h.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "ln_1.weight", p + "ln_1.bias", l, block);
            b.SeparateAttention(l, block, p + "attn.q_proj", p + "attn.k_proj", p + "attn.v_proj", p + "attn.out_proj");
            b.PlainMlp(l, block, p + "mlp.fc_in", p + "mlp.fc_out");
        }

        b.FinalNorm("transformer.ln_f.weight", "transformer.ln_f.bias", block);
        b.Head("lm_head.weight", "lm_head.bias");
        return b.Build(block);
    }
}
