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
            Layers = b.LayersWithoutRotary(),
        };
        // Without multi_query c_attn is laid out per head (heads, 3, head_dim), like NeoX.
        return GptStyle.Build(b, block, multiQuery ? b.Blocks() : b.Grouped(), transpose: false);
    }
}
