namespace HyperDex.Runtime.Architectures;

/// <summary>
/// The GPT-2 checkpoint layout that GPT-2 and GPT-BigCode share (transformer.wte/wpe, transformer.h.{l}.ln_1,
/// attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, transformer.ln_f): learned positions, a fused q/k/v cut into
/// <paramref name="parts"/>, biases everywhere. GPT-2's Conv1D stores every matrix [in, out] (<paramref name="transpose"/>).
/// </summary>
internal static class GptStyle
{
    public static ModelShape Build(ShapeBuilder b, BlockSpec block, (RowRange[] Q, RowRange[] K, RowRange[] V) parts, bool transpose)
    {
        b.Embedding("transformer.wte.weight");
        b.Add("pos_embed", "transformer.wpe.weight", [b.MaxPositions, b.Hidden], ShapeBuilder.Replicated, TensorRole.Embedding);
        var conv1D = transpose ? new TensorTransform { Transpose = true } : null;
        for (int l = 0; l < b.Layers; l++)
        {
            string p = ShapeBuilder.L("transformer.h.{l}.", l);
            b.Norm(ShapeBuilder.L("layers.{l}.attn_norm", l), p + "ln_1.weight", p + "ln_1.bias", l, block);
            b.Norm(ShapeBuilder.L("layers.{l}.mlp_norm", l), p + "ln_2.weight", p + "ln_2.bias", l, block);
            b.FusedAttention(l, block, p + "attn.c_attn", parts, transpose);
            b.RowParallel(ShapeBuilder.L("layers.{l}.attn.o", l), p + "attn.c_proj.weight", b.Hidden, b.QDim, "qDim", l, conv1D,
                transpose ? [b.QDim, b.Hidden] : null);
            b.Vector(ShapeBuilder.L("layers.{l}.attn.o_bias", l), p + "attn.c_proj.bias", b.Hidden, l, TensorRole.Bias);
            b.PlainMlp(l, block, p + "mlp.c_fc", p + "mlp.c_proj", transpose);
        }

        b.FinalNorm("transformer.ln_f.weight", "transformer.ln_f.bias", block);
        b.Head("lm_head.weight");
        return b.Build(block);
    }
}
