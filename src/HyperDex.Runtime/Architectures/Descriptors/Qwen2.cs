using HyperDex.Runtime.Checkpoints;

namespace HyperDex.Runtime.Architectures.Descriptors;

/// <summary>Qwen2ForCausalLM: Llama's layout with q/k/v biases; windows only with use_sliding_window, from layer max_window_layers on.</summary>
internal sealed class Qwen2 : ArchitectureDescriptor
{
    public override string Name => "Qwen2ForCausalLM";

    public override string Families => "Qwen2, Qwen2.5";

    public override ModelShape Resolve(HfModelConfig config)
    {
        var b = new ShapeBuilder(this, config);
        b.ReadCommonDimensions(tiedByDefault: false, epsDefault: 1e-6);
        var block = new BlockSpec
        {
            QkvBias = true,
            Activation = b.Activation(config.Text("hidden_act"), "silu"),
            Layers = QwenWindows.Layers(b),
        };
        return LlamaStyle.Build(b, block);
    }
}

/// <summary>Qwen's window rule: none unless use_sliding_window; then layers from max_window_layers on (layer_types when given).</summary>
internal static class QwenWindows
{
    public static IReadOnlyList<LayerSpec> Layers(ShapeBuilder b)
    {
        bool enabled = b.Config.Bool("use_sliding_window") ?? false;
        int first = b.Config.Whole("max_window_layers") ?? 28;
        var layers = LlamaStyle.Windowed(b, l => enabled && l >= first);
        return enabled ? layers : layers.Select(l => l with { Window = 0 }).ToArray();
    }
}
