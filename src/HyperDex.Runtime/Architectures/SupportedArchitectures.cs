using System.Globalization;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Architectures;

/// <summary>The architectures HyperDex compiles, and the resolution of a config.json against them.</summary>
public static class SupportedArchitectures
{
    public static IReadOnlyList<ArchitectureDescriptor> All { get; } = new[] { LlamaFamily.Llama, LlamaFamily.Mistral, LlamaFamily.Qwen2 };

    public static ArchitectureDescriptor Find(string name) =>
        All.FirstOrDefault(d => d.Name == name) ?? throw new HdxException("ArchitectureNotSupported", HdxErrorKind.NotSupported,
            $"The architecture '{name}' is not supported. Supported: {string.Join(", ", All.Select(d => $"{d.Name} ({d.Families})"))}.",
            name, "Choose a model of a supported architecture.");

    public static ModelShape Resolve(HfModelConfig config, string configPath)
    {
        var descriptor = Find(config.Architecture);
        int hidden = Require(config.HiddenSize, "hidden_size", configPath);
        int heads = Require(config.Heads, "num_attention_heads", configPath);
        int kvHeads = config.KvHeads ?? heads;
        int layers = Require(config.Layers, "num_hidden_layers", configPath);
        int intermediate = Require(config.IntermediateSize, "intermediate_size", configPath);
        int vocab = Require(config.VocabSize, "vocab_size", configPath);
        if (config.HeadDim is null && hidden % heads != 0)
        {
            throw Invalid(configPath, $"hidden_size {hidden} is not a multiple of num_attention_heads {heads}");
        }

        int headDim = config.HeadDim ?? hidden / heads;
        if (kvHeads <= 0 || heads % kvHeads != 0)
        {
            throw Invalid(configPath, $"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        }

        if (headDim % 2 != 0)
        {
            throw Invalid(configPath, $"the head dimension {headDim} is odd, which rotary embeddings cannot rotate");
        }

        string act = config.HiddenAct ?? "silu";
        if (!descriptor.Activations.TryGetValue(act, out int activation))
        {
            throw new HdxException("ActivationNotSupported", HdxErrorKind.NotSupported,
                $"{descriptor.Name} with hidden_act '{act}' is not supported; supported: {string.Join(", ", descriptor.Activations.Keys)}.", configPath);
        }

        string ropeType = config.RopeScaling?.Type ?? "default";
        if (!descriptor.RopeScalingTypes.TryGetValue(ropeType, out int ropeScalingType))
        {
            throw new HdxException("RopeScalingNotSupported", HdxErrorKind.NotSupported,
                $"rope_scaling of type '{ropeType}' is not supported; supported: {string.Join(", ", descriptor.RopeScalingTypes.Keys)}.", configPath);
        }

        int maxPositions = config.MaxPositions ?? 2048;
        bool tied = config.TieWordEmbeddings ?? descriptor.TiedByDefault;
        bool qkvBias = descriptor.QkvBias || (config.AttentionBias ?? false);
        bool slidingApplies = descriptor.SlidingWindowNeedsFlag ? config.UseSlidingWindow == true : config.SlidingWindow is not null;
        var dims = new Dictionary<string, long>
        {
            ["hidden"] = hidden,
            ["intermediate"] = intermediate,
            ["vocab"] = vocab,
            ["qDim"] = (long)heads * headDim,
            ["kvDim"] = (long)kvHeads * headDim,
        };
        var conditions = new Dictionary<string, bool> { ["qkvBias"] = qkvBias, ["untied"] = !tied };

        var tensors = new List<ExpectedTensor>();
        foreach (var rule in descriptor.GlobalTensors)
        {
            AddIfPresent(tensors, rule, dims, conditions, -1);
        }

        for (int l = 0; l < layers; l++)
        {
            foreach (var rule in descriptor.LayerTensors)
            {
                AddIfPresent(tensors, rule, dims, conditions, l);
            }
        }

        return new ModelShape
        {
            Descriptor = descriptor,
            Hidden = hidden,
            Intermediate = intermediate,
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            HeadDim = headDim,
            Vocab = vocab,
            MaxPositions = maxPositions,
            Eps = config.RmsNormEps ?? 1e-6,
            RopeTheta = config.RopeTheta ?? 10000,
            RopeScalingType = ropeScalingType,
            RopeScaling = config.RopeScaling,
            Activation = activation,
            Tied = tied,
            QkvBias = qkvBias,
            SlidingWindow = slidingApplies ? config.SlidingWindow : null,
            Tensors = tensors,
        };
    }

    private static void AddIfPresent(List<ExpectedTensor> tensors, TensorRule rule, Dictionary<string, long> dims,
        Dictionary<string, bool> conditions, int layer)
    {
        if (rule.When is not null && !conditions[rule.When])
        {
            return;
        }

        string layerText = layer.ToString(CultureInfo.InvariantCulture);
        tensors.Add(new ExpectedTensor(rule.Canonical.Replace("{l}", layerText, StringComparison.Ordinal),
            rule.Source.Replace("{l}", layerText, StringComparison.Ordinal), rule.Shape.Select(d => dims[d]).ToArray(), rule.SplitAxis,
            rule.SplitAxis >= 0 ? rule.Shape[rule.SplitAxis] : null, rule.Role, layer));
    }

    private static int Require(int? value, string field, string configPath) =>
        value is > 0 ? value.Value : throw Invalid(configPath, $"{field} is missing or not positive");

    private static HdxException Invalid(string configPath, string detail) =>
        new("ConfigInvalid", HdxErrorKind.InvalidData, $"{configPath}: {detail}.", configPath,
            "Restore config.json from the model's original repository.");
}
