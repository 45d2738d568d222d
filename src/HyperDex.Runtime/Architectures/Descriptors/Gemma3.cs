using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>
/// Gemma3ForCausalLM (text): Gemma 2's sandwich norms and windows, a per-head (1 + w) q/k norm, and two rotary
/// settings: local layers rope_local_base_freq (10k), global layers rope_theta (1M) with its scaling.
/// </summary>
internal sealed class Gemma3 : ArchitectureDescriptor
{
    public override string Name => "Gemma3ForCausalLM";

    public override string Families => "Gemma 3 (text)";

    public override ModelShape Resolve(HfModelConfig config) => GemmaFamily.Resolve(this, config, version: 3);
}
