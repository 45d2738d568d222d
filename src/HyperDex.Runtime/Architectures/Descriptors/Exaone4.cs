using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Exaone4ForCausalLM: post-norms, a per-head q/k RMSNorm, and hybrid attention: sliding layers (per layer_types or
/// sliding_window_pattern) use rotary, the global layers of a hybrid model use no positions at all (NoPE).
/// </summary>
internal sealed class Exaone4 : ArchitectureDescriptor
{
    public override string Name => "Exaone4ForCausalLM";

    public override string Families => "EXAONE 4.0";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-5);
        bool hybrid = config.Whole("sliding_window") is not null;
        int pattern = config.Whole("sliding_window_pattern") ?? 4;
        RopeSpec rope = b.Rope();
        var block = new BlockSpec
        {
            Placement = NormPlacement.Post,
            QkNorm = QkNormKind.PerHead,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = LlamaStyle.Windowed(b, l => hybrid && (l + 1) % pattern != 0, sliding => !hybrid || sliding ? rope : null),
        };
        return LlamaStyle.Build(b, block);
    }
}
