namespace HyperDex.Runtime.Architectures;

/// <summary>
/// The Llama family: RMSNorm, rotary embeddings, grouped-query attention, SwiGLU MLP, tied or untied embeddings.
/// Llama 1/2/3.x, TinyLlama, SmolLM and Mistral share the tensor layout; Qwen2 adds q/k/v biases.
/// </summary>
public static class LlamaFamily
{
    private static readonly TensorRule[] Global =
    {
        new("embed", "model.embed_tokens.weight", new[] { "vocab", "hidden" }, -1, TensorRole.Embedding),
        new("final_norm", "model.norm.weight", new[] { "hidden" }, -1, TensorRole.Norm),
        new("lm_head", "lm_head.weight", new[] { "vocab", "hidden" }, 0, TensorRole.Matrix, When: "untied"),
    };

    private static readonly TensorRule[] Layer =
    {
        new("layers.{l}.attn_norm", "model.layers.{l}.input_layernorm.weight", new[] { "hidden" }, -1, TensorRole.Norm),
        new("layers.{l}.attn.q", "model.layers.{l}.self_attn.q_proj.weight", new[] { "qDim", "hidden" }, 0, TensorRole.Matrix),
        new("layers.{l}.attn.k", "model.layers.{l}.self_attn.k_proj.weight", new[] { "kvDim", "hidden" }, 0, TensorRole.Matrix),
        new("layers.{l}.attn.v", "model.layers.{l}.self_attn.v_proj.weight", new[] { "kvDim", "hidden" }, 0, TensorRole.Matrix),
        new("layers.{l}.attn.q_bias", "model.layers.{l}.self_attn.q_proj.bias", new[] { "qDim" }, 0, TensorRole.Bias, When: "qkvBias"),
        new("layers.{l}.attn.k_bias", "model.layers.{l}.self_attn.k_proj.bias", new[] { "kvDim" }, 0, TensorRole.Bias, When: "qkvBias"),
        new("layers.{l}.attn.v_bias", "model.layers.{l}.self_attn.v_proj.bias", new[] { "kvDim" }, 0, TensorRole.Bias, When: "qkvBias"),
        new("layers.{l}.attn.o", "model.layers.{l}.self_attn.o_proj.weight", new[] { "hidden", "qDim" }, 1, TensorRole.Matrix),
        new("layers.{l}.mlp_norm", "model.layers.{l}.post_attention_layernorm.weight", new[] { "hidden" }, -1, TensorRole.Norm),
        new("layers.{l}.mlp.gate", "model.layers.{l}.mlp.gate_proj.weight", new[] { "intermediate", "hidden" }, 0, TensorRole.Matrix),
        new("layers.{l}.mlp.up", "model.layers.{l}.mlp.up_proj.weight", new[] { "intermediate", "hidden" }, 0, TensorRole.Matrix),
        new("layers.{l}.mlp.down", "model.layers.{l}.mlp.down_proj.weight", new[] { "hidden", "intermediate" }, 1, TensorRole.Matrix),
    };

    public static ArchitectureDescriptor Llama { get; } = new()
    {
        Name = "LlamaForCausalLM",
        Families = "Llama 1/2/3/3.x, TinyLlama, SmolLM",
        GlobalTensors = Global,
        LayerTensors = Layer,
    };

    public static ArchitectureDescriptor Mistral { get; } = Llama with { Name = "MistralForCausalLM", Families = "Mistral" };

    public static ArchitectureDescriptor Qwen2 { get; } = Llama with
    {
        Name = "Qwen2ForCausalLM",
        Families = "Qwen2, Qwen2.5",
        QkvBias = true,
        SlidingWindowNeedsFlag = true,
    };
}
