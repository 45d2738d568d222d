using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// GPTBigCodeForCausalLM (StarCoder, SantaCoder): GPT-2's block with ordinary [out, in] Linear weights; with
/// multi_query one KV head, c_attn = q (hidden) then k and v (one head each).
/// </summary>
internal sealed class GptBigCode : ArchitectureDescriptor
{
    public override string Name => "GPTBigCodeForCausalLM";

    public override string Families => "StarCoder, SantaCoder, BigCode";

    public override string BasePrefix => "transformer.";

    public override IReadOnlyList<string> IgnoredSuffixes => [".attn.bias", ".attn.masked_bias"];

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: true, epsDefault: 1e-5);
        bool multiQuery = config.Bool("multi_query") ?? true;
        b.KvHeads = multiQuery ? 1 : b.Heads;
        bool scale = config.Bool("scale_attn_weights") ?? true;
        var block = new BlockSpec
        {
            Norm = NormKind.Layer,
            NormBias = true,
            Positions = PositionKind.Learned,
            QkvBias = true,
            OutputBias = true,
            MlpBias = true,
            Mlp = MlpKind.Plain,
            Activation = b.Activation(config.Text("activation_function"), "gelu_pytorch_tanh"),
            AttentionScale = scale ? 0 : 1,
            Layers = Enumerable.Range(0, b.Layers).Select(_ => new LayerSpec(0, null, false)).ToArray(),
        };
        b.Embedding("transformer.wte.weight");
        b.Add("pos_embed", "transformer.wpe.weight", [b.MaxPositions, b.Hidden], ShapeBuilder.Replicated, TensorRole.Embedding);
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("transformer.h.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "ln_1.weight", p + "ln_1.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "ln_2.weight", p + "ln_2.bias", l, block);
            // Without multi_query c_attn is laid out per head (heads, 3, head_dim), like NeoX.
            b.FusedAttention(l, block, p + "attn.c_attn", multiQuery ? b.Blocks() : b.Grouped());
            b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), p + "attn.c_proj.weight", b.Hidden, b.QDim, "qDim", l);
            b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), p + "attn.c_proj.bias", b.Hidden, l, TensorRole.Bias);
            b.PlainMlp(l, block, p + "mlp.c_fc", p + "mlp.c_proj");
        }

        b.FinalNorm("transformer.ln_f.weight", "transformer.ln_f.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
