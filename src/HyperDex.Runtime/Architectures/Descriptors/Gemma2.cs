using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Gemma2ForCausalLM: Gemma with sandwich norms, alternating sliding-window layers, score and final soft-capping, and
/// a query_pre_attn_scalar score scale.
/// </summary>
internal sealed class Gemma2 : ArchitectureDescriptor
{
    public override string Name => "Gemma2ForCausalLM";

    public override string Families => "Gemma 2";

    public override ModelShape Resolve(HfModelConfig config) => GemmaFamily.Resolve(this, config, version: 2);
}
