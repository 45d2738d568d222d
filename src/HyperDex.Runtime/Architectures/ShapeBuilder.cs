using System.Globalization;
using System.Text.Json;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Architectures;

/// <summary>
/// The shared vocabulary descriptors resolve with (as llama.cpp's graph builders share build_norm/build_attn/...):
/// config reading with aliases and refusals, rotary settings in both config forms, per-layer attention types, and
/// the tensor rules of the common blocks. A descriptor sets the dimensions, calls the helpers its checkpoint
/// layout needs and finishes with <see cref="Build"/>.
/// </summary>
internal sealed class ShapeBuilder
{
    private readonly List<ExpectedTensor> _tensors = new();

    public ShapeBuilder(ArchitectureDescriptor descriptor, HfModelConfig config)
    {
        Descriptor = descriptor;
        Config = config;
    }

    public ArchitectureDescriptor Descriptor { get; }

    public HfModelConfig Config { get; }

    public int Hidden { get; set; }

    public int Heads { get; set; }

    public int KvHeads { get; set; }

    public int HeadDim { get; set; }

    public int Layers { get; set; }

    public int Intermediate { get; set; }

    public int Vocab { get; set; }

    public int MaxPositions { get; set; }

    public double Eps { get; set; }

    public bool Tied { get; set; }

    public long QDim => (long)Heads * HeadDim;

    public long KvDim => (long)KvHeads * HeadDim;

    /// <summary>The first of <paramref name="names"/> present, as a positive integer; missing or not positive is ConfigInvalid.</summary>
    public int Require(params string[] names) =>
        Config.Whole(names) is int value and > 0 ? value : throw Invalid($"{names[0]} is missing or not positive");

    /// <summary>
    /// The common dimensions under their usual names and aliases (HF attribute_map). Descriptors with other names
    /// or defaults set the properties themselves afterwards.
    /// </summary>
    public void ReadCommonDimensions(bool tiedByDefault, double epsDefault, int? headDimDefault = null, int maxPositionsDefault = 2048)
    {
        Hidden = Require("hidden_size", "n_embd", "d_model");
        Heads = Require("num_attention_heads", "n_head", "num_heads");
        KvHeads = Config.Whole("num_key_value_heads", "num_kv_heads") ?? Heads;
        Layers = Require("num_hidden_layers", "n_layer", "num_layers");
        Vocab = Require("vocab_size");
        HeadDim = Config.Whole("head_dim") ?? headDimDefault ?? Hidden / Heads;
        if (Config.Whole("head_dim") is null && headDimDefault is null && Hidden % Heads != 0)
        {
            throw Invalid($"hidden_size {Hidden} is not a multiple of num_attention_heads {Heads}");
        }

        Intermediate = Config.Whole("intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size") ?? 4 * Hidden;
        MaxPositions = Config.Whole("max_position_embeddings", "n_positions", "n_ctx") ?? maxPositionsDefault;
        Eps = Config.Number("rms_norm_eps", "layer_norm_epsilon", "layer_norm_eps", "norm_epsilon") ?? epsDefault;
        Tied = Config.Bool("tie_word_embeddings") ?? tiedByDefault;
    }

    /// <summary>Checks the dimensions every architecture needs to be consistent.</summary>
    public void CheckDimensions()
    {
        foreach (var (name, value) in new[] { ("hidden_size", Hidden), ("num_attention_heads", Heads), ("num_key_value_heads", KvHeads),
            ("head_dim", HeadDim), ("num_hidden_layers", Layers), ("intermediate_size", Intermediate), ("vocab_size", Vocab), ("max_position_embeddings", MaxPositions) })
        {
            if (value <= 0)
            {
                throw Invalid($"{name} is missing or not positive");
            }
        }

        if (Heads % KvHeads != 0)
        {
            throw Invalid($"num_attention_heads {Heads} is not a multiple of num_key_value_heads {KvHeads}");
        }

        if (!(Eps > 0 && Eps < 1))
        {
            throw Invalid($"the norm epsilon {Eps} is outside (0, 1)");
        }
    }

    /// <summary>The activation name of the program for an HF activation name, or ActivationNotSupported.</summary>
    public string Activation(string? hfName, string fallback)
    {
        string name = hfName ?? fallback;
        return name switch
        {
            "silu" or "swish" => "silu",
            "gelu" => "gelu",
            "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => "gelu_tanh",
            "relu" => "relu",
            _ => throw new HdxException("ActivationNotSupported", HdxErrorKind.NotSupported,
                $"{Descriptor.Name} with the activation '{name}' is not supported; supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu.",
                Config.Path, "Choose a model with a supported activation."),
        };
    }

    /// <summary>A config setting that changes the computation and is not implemented: refused, never ignored.</summary>
    public HdxException Unsupported(string feature, string detail) =>
        new("ConfigFeatureNotSupported", HdxErrorKind.NotSupported, $"{Descriptor.Name}: {feature} is not supported ({detail}).", Config.Path,
            "Choose a model without this setting, or a supported architecture.");

    public HdxException Invalid(string detail) =>
        new("ConfigInvalid", HdxErrorKind.InvalidData, $"{Config.Path}: {detail}.", Config.Path, "Restore config.json from the model's original repository.");

    /// <summary>
    /// Per-layer attention types: config.layer_types (transformers 5 and newer 4.x configs) or, when absent, the
    /// descriptor's rule; a layer is windowed when its type is sliding_attention and sliding_window is set.
    /// </summary>
    public IReadOnlyList<bool> SlidingLayers(Func<int, bool> slidingWhenUntyped)
    {
        if (Config.Strings("layer_types") is { } types)
        {
            if (types.Count != Layers)
            {
                throw Invalid($"layer_types has {types.Count} entries for {Layers} layers");
            }

            foreach (string type in types.Where(t => t is not ("full_attention" or "sliding_attention")))
            {
                throw Unsupported($"layer type '{type}'", "only full_attention and sliding_attention are");
            }

            return types.Select(t => t == "sliding_attention").ToArray();
        }

        return Enumerable.Range(0, Layers).Select(slidingWhenUntyped).ToArray();
    }

    /// <summary>
    /// The rotary settings of a layer type, from transformers 5's rope_parameters (flat, or per layer type as Gemma 3
    /// writes it) or from transformers 4's rope_theta / rope_scaling / partial_rotary_factor / rotary_pct keys.
    /// Scaling types other than linear and llama3 are refused.
    /// </summary>
    public RopeSpec Rope(string? layerType = null, double defaultTheta = 10000, double? localTheta = null, int? rotaryDim = null)
    {
        JsonElement? parameters = Config.Section("rope_parameters");
        if (parameters is { } all && layerType is not null && all.TryGetProperty(layerType, out var perType) && perType.ValueKind == JsonValueKind.Object)
        {
            parameters = perType;
        }
        else if (parameters is { } p && (p.TryGetProperty("full_attention", out _) || p.TryGetProperty("sliding_attention", out _)))
        {
            throw Invalid($"rope_parameters has no entry for the layer type '{layerType ?? "full_attention"}'");
        }

        // transformers 4: a local theta for sliding layers (Gemma 3's rope_local_base_freq) carries no scaling.
        bool local = parameters is null && localTheta is not null;
        JsonElement? scaling = local ? null : parameters ?? Config.Section("rope_scaling");
        double theta = Read(parameters, "rope_theta") ?? (local ? localTheta : null) ?? Config.Number("rope_theta") ?? defaultTheta;
        string type = ReadString(scaling, "rope_type") ?? ReadString(scaling, "type") ?? "default";
        double partial = Read(parameters, "partial_rotary_factor") ?? Config.Number("partial_rotary_factor", "rotary_pct") ?? 1;
        int dim = rotaryDim ?? (int)(HeadDim * partial);
        if (dim <= 0 || dim > HeadDim || dim % 2 != 0)
        {
            throw Invalid($"the rotary dimension {dim} (head_dim {HeadDim} × {partial.ToString(CultureInfo.InvariantCulture)}) is not an even number up to head_dim");
        }

        if (!(theta > 0))
        {
            throw Invalid($"rope_theta {theta} is not positive");
        }

        string mode = type switch
        {
            "default" => "none",
            "linear" => "linear",
            "llama3" => "llama3",
            _ => throw new HdxException("RopeScalingNotSupported", HdxErrorKind.NotSupported,
                $"{Descriptor.Name}: rope scaling of type '{type}' is not supported; supported: default, linear, llama3.", Config.Path,
                "Choose a model without this rope scaling, or one with linear or llama3 scaling."),
        };
        double factor = Read(scaling, "factor") ?? 1;
        if (mode != "none" && !(factor > 0))
        {
            throw Invalid($"the rope scaling factor {factor} is not positive");
        }

        return new RopeSpec(theta, dim, mode, factor, Read(scaling, "low_freq_factor") ?? 1, Read(scaling, "high_freq_factor") ?? 4,
            Read(scaling, "original_max_position_embeddings") ?? Config.Number("original_max_position_embeddings") ?? MaxPositions);
    }

    private double? Read(JsonElement? element, string name)
    {
        try
        {
            return element is { } e ? HfModelConfig.Num(e, name) : null;
        }
        catch (JsonException error)
        {
            throw Invalid(error.Message);
        }
    }

    private string? ReadString(JsonElement? element, string name)
    {
        try
        {
            return element is { } e ? HfModelConfig.Str(e, name) : null;
        }
        catch (JsonException error)
        {
            throw Invalid(error.Message);
        }
    }

    /// <summary>Every layer alike with full attention and no rotary: models with learned absolute positions.</summary>
    public IReadOnlyList<LayerSpec> LayersWithoutRotary() => Enumerable.Range(0, Layers).Select(_ => new LayerSpec(0, null, false)).ToArray();

    /// <summary>A canonical tensor taken whole, or cut by <paramref name="transform"/> from a source of <paramref name="sourceShape"/>.</summary>
    /// <param name="split">(axis, dimension) divided across devices; axis -1 = replicated.</param>
    public void Add(string canonical, string source, long[] shape, (int Axis, string? Dimension) split, TensorRole role, int layer = -1,
        TensorTransform? transform = null, long[]? sourceShape = null)
    {
        _tensors.Add(new ExpectedTensor(canonical, source, shape, split.Axis, split.Dimension, role, layer)
        {
            SourceShape = sourceShape ?? shape,
            Transform = transform ?? TensorTransform.None,
        });
    }

    public static readonly (int, string?) Replicated = (-1, null);

    /// <summary>A [rows, in] matrix split by its rows (q/k/v, gate/up, fc: column-parallel).</summary>
    public void ColumnParallel(string canonical, string source, long rows, long columns, string dimension, int layer,
        TensorTransform? transform = null, long[]? sourceShape = null) =>
        Add(canonical, source, [rows, columns], (0, dimension), TensorRole.Matrix, layer, transform, sourceShape);

    /// <summary>A [out, rows] matrix split by its input columns (o, down: row-parallel, joined by an all-reduce).</summary>
    public void RowParallel(string canonical, string source, long rows, long columns, string dimension, int layer,
        TensorTransform? transform = null, long[]? sourceShape = null) =>
        Add(canonical, source, [rows, columns], (1, dimension), TensorRole.Matrix, layer, transform, sourceShape);

    /// <summary>A bias (or per-head norm weight) split like the matrix it belongs to.</summary>
    public void SplitVector(string canonical, string source, long length, string dimension, int layer, TensorRole role = TensorRole.Bias,
        TensorTransform? transform = null, long[]? sourceShape = null) =>
        Add(canonical, source, [length], (0, dimension), role, layer, transform, sourceShape);

    /// <summary>A replicated vector: a norm weight, a bias added after the all-reduce.</summary>
    public void Vector(string canonical, string source, long length, int layer, TensorRole role = TensorRole.Norm, TensorTransform? transform = null,
        long[]? sourceShape = null) =>
        Add(canonical, source, [length], Replicated, role, layer, transform, sourceShape);

    /// <summary>A norm's weight and optional bias (canonical "name" and "name_bias"); none at all for a non-parametric norm.</summary>
    public void Norm(string canonical, string weightSource, string? biasSource, int layer, BlockSpec block, float addToWeight = 0)
    {
        if (!block.NormWeight)
        {
            return;
        }

        Vector(canonical, weightSource, Hidden, layer, TensorRole.Norm, addToWeight != 0 ? new TensorTransform { AddConstant = addToWeight } : null);
        if (block.NormBias && biasSource is not null)
        {
            Vector(canonical + "_bias", biasSource, Hidden, layer, TensorRole.Norm);
        }
    }

    /// <summary>The token embedding [vocab, hidden], replicated.</summary>
    public void Embedding(string source) => Add("embed", source, [Vocab, Hidden], Replicated, TensorRole.Embedding);

    /// <summary>The output head when untied (its bias whenever present), split by vocabulary.</summary>
    public void Head(string source, string? biasSource = null)
    {
        if (!Tied)
        {
            Add("lm_head", source, [Vocab, Hidden], (0, "vocab"), TensorRole.Matrix);
        }

        if (biasSource is not null)
        {
            Add("lm_head_bias", biasSource, [Vocab], (0, "vocab"), TensorRole.Bias);
        }
    }

    /// <summary>
    /// Separate q/k/v/o projections of layer <paramref name="layer"/> ("{p}" in the names is the layer's source
    /// prefix), with biases as the block says.
    /// </summary>
    public void SeparateAttention(int layer, BlockSpec block, string q, string k, string v, string o)
    {
        ColumnParallel(L("layers.{l}.attn.q", layer), q + ".weight", QDim, Hidden, "qDim", layer);
        ColumnParallel(L("layers.{l}.attn.k", layer), k + ".weight", KvDim, Hidden, "kvDim", layer);
        ColumnParallel(L("layers.{l}.attn.v", layer), v + ".weight", KvDim, Hidden, "kvDim", layer);
        RowParallel(L("layers.{l}.attn.o", layer), o + ".weight", Hidden, QDim, "qDim", layer);
        if (block.QkvBias)
        {
            SplitVector(L("layers.{l}.attn.q_bias", layer), q + ".bias", QDim, "qDim", layer);
            SplitVector(L("layers.{l}.attn.k_bias", layer), k + ".bias", KvDim, "kvDim", layer);
            SplitVector(L("layers.{l}.attn.v_bias", layer), v + ".bias", KvDim, "kvDim", layer);
        }

        if (block.OutputBias)
        {
            Vector(L("layers.{l}.attn.o_bias", layer), o + ".bias", Hidden, layer, TensorRole.Bias);
        }
    }

    /// <summary>
    /// A fused q/k/v projection cut into q, k and v by row runs (<paramref name="parts"/> gives each part's runs of
    /// the fused rows, after a transpose for Conv1D), with the bias cut the same way when the block has one.
    /// </summary>
    public void FusedAttention(int layer, BlockSpec block, string source, (RowRange[] Q, RowRange[] K, RowRange[] V) parts, bool transpose = false)
    {
        long fused = QDim + 2 * KvDim;
        long[] sourceShape = transpose ? [Hidden, fused] : [fused, Hidden];
        ColumnParallel(L("layers.{l}.attn.q", layer), source + ".weight", QDim, Hidden, "qDim", layer, new() { Transpose = transpose, Rows = parts.Q }, sourceShape);
        ColumnParallel(L("layers.{l}.attn.k", layer), source + ".weight", KvDim, Hidden, "kvDim", layer, new() { Transpose = transpose, Rows = parts.K }, sourceShape);
        ColumnParallel(L("layers.{l}.attn.v", layer), source + ".weight", KvDim, Hidden, "kvDim", layer, new() { Transpose = transpose, Rows = parts.V }, sourceShape);
        if (block.QkvBias)
        {
            long[] biasShape = [fused];
            SplitVector(L("layers.{l}.attn.q_bias", layer), source + ".bias", QDim, "qDim", layer, TensorRole.Bias, new() { Rows = parts.Q }, biasShape);
            SplitVector(L("layers.{l}.attn.k_bias", layer), source + ".bias", KvDim, "kvDim", layer, TensorRole.Bias, new() { Rows = parts.K }, biasShape);
            SplitVector(L("layers.{l}.attn.v_bias", layer), source + ".bias", KvDim, "kvDim", layer, TensorRole.Bias, new() { Rows = parts.V }, biasShape);
        }
    }

    /// <summary>q, then k, then v as three blocks of rows (Phi-3, GPT-2, BigCode multi-query, Falcon multi-query).</summary>
    public (RowRange[], RowRange[], RowRange[]) Blocks() => ([new(0, QDim)], [new(QDim, KvDim)], [new(QDim + KvDim, KvDim)]);

    /// <summary>Rows grouped per KV head: (kvHeads, heads/kvHeads + 2, headDim) — NeoX (per head) and Falcon-40B.</summary>
    public (RowRange[], RowRange[], RowRange[]) Grouped()
    {
        int perGroup = Heads / KvHeads;
        long groupRows = (perGroup + 2L) * HeadDim;
        var q = new List<RowRange>();
        var k = new List<RowRange>();
        var v = new List<RowRange>();
        for (int g = 0; g < KvHeads; g++)
        {
            q.Add(new(g * groupRows, perGroup * (long)HeadDim));
            k.Add(new(g * groupRows + perGroup * (long)HeadDim, HeadDim));
            v.Add(new(g * groupRows + (perGroup + 1L) * HeadDim, HeadDim));
        }

        return (q.ToArray(), k.ToArray(), v.ToArray());
    }

    /// <summary>A gated MLP from separate gate/up/down projections, biased when the block says so.</summary>
    public void GatedMlp(int layer, BlockSpec block, string gate, string up, string down)
    {
        ColumnParallel(L("layers.{l}.mlp.gate", layer), gate + ".weight", Intermediate, Hidden, "intermediate", layer);
        ColumnParallel(L("layers.{l}.mlp.up", layer), up + ".weight", Intermediate, Hidden, "intermediate", layer);
        RowParallel(L("layers.{l}.mlp.down", layer), down + ".weight", Hidden, Intermediate, "intermediate", layer);
        if (block.MlpBias)
        {
            SplitVector(L("layers.{l}.mlp.gate_bias", layer), gate + ".bias", Intermediate, "intermediate", layer);
            SplitVector(L("layers.{l}.mlp.up_bias", layer), up + ".bias", Intermediate, "intermediate", layer);
            Vector(L("layers.{l}.mlp.down_bias", layer), down + ".bias", Hidden, layer, TensorRole.Bias);
        }
    }

    /// <summary>A plain MLP (fc → act → proj), transposed for Conv1D, biased when the block says so.</summary>
    public void PlainMlp(int layer, BlockSpec block, string fc, string proj, bool transpose = false)
    {
        var t = transpose ? new TensorTransform { Transpose = true } : null;
        ColumnParallel(L("layers.{l}.mlp.up", layer), fc + ".weight", Intermediate, Hidden, "intermediate", layer, t,
            transpose ? [Hidden, Intermediate] : null);
        RowParallel(L("layers.{l}.mlp.down", layer), proj + ".weight", Hidden, Intermediate, "intermediate", layer, t,
            transpose ? [Intermediate, Hidden] : null);
        if (block.MlpBias)
        {
            SplitVector(L("layers.{l}.mlp.up_bias", layer), fc + ".bias", Intermediate, "intermediate", layer);
            Vector(L("layers.{l}.mlp.down_bias", layer), proj + ".bias", Hidden, layer, TensorRole.Bias);
        }
    }

    /// <summary>Per-head (or whole-projection) q/k norm weights, and biases for a LayerNorm kind with bias.</summary>
    public void QkNorms(int layer, BlockSpec block, string q, string k, bool withBias = false, float addToWeight = 0)
    {
        var transform = addToWeight != 0 ? new TensorTransform { AddConstant = addToWeight } : null;
        foreach (var (name, source, width, dimension) in new[] { ("q_norm", q, QDim, "qDim"), ("k_norm", k, KvDim, "kvDim") })
        {
            string canonical = L($"layers.{{l}}.attn.{name}", layer);
            if (block.QkNorm == QkNormKind.PerHead && !block.QkNormPerHeadWeights)
            {
                Vector(canonical, source + ".weight", HeadDim, layer, TensorRole.Norm, transform);
                if (withBias)
                {
                    Vector(canonical + "_bias", source + ".bias", HeadDim, layer, TensorRole.Norm);
                }

                continue;
            }

            long heads = width / HeadDim;
            long[]? shape = block.QkNormPerHeadWeights ? [heads, HeadDim] : null;
            SplitVector(canonical, source + ".weight", width, dimension, layer, TensorRole.Norm, transform, shape);
            if (withBias)
            {
                SplitVector(canonical + "_bias", source + ".bias", width, dimension, layer, TensorRole.Norm, null, shape);
            }
        }
    }

    /// <summary>The router and every expert's gate/up/down of a mixture-of-experts layer ("{e}" in names is the expert).</summary>
    public void Experts(int layer, int experts, int intermediate, string router, string gate, string up, string down)
    {
        Add(L("layers.{l}.moe.router", layer), router + ".weight", [experts, Hidden], Replicated, TensorRole.Matrix, layer);
        for (int e = 0; e < experts; e++)
        {
            string E(string name) => name.Replace("{e}", e.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            ColumnParallel(L($"layers.{{l}}.moe.{e}.gate", layer), E(gate) + ".weight", intermediate, Hidden, "expert", layer);
            ColumnParallel(L($"layers.{{l}}.moe.{e}.up", layer), E(up) + ".weight", intermediate, Hidden, "expert", layer);
            RowParallel(L($"layers.{{l}}.moe.{e}.down", layer), E(down) + ".weight", Hidden, intermediate, "expert", layer);
        }
    }

    /// <summary>The final norm before the head.</summary>
    public void FinalNorm(string weightSource, string? biasSource, BlockSpec block, float addToWeight = 0) =>
        Norm("final_norm", weightSource, biasSource, -1, block, addToWeight);

    /// <summary>A name with "{l}" replaced by the layer index.</summary>
    public static string L(string name, int layer) => name.Replace("{l}", layer.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public ModelShape Build(BlockSpec block)
    {
        CheckDimensions();
        if (block.Layers.Count != Layers)
        {
            throw new InvalidOperationException("the block spec must describe every layer");
        }

        return new ModelShape
        {
            Descriptor = Descriptor,
            Hidden = Hidden,
            Intermediate = Intermediate,
            Layers = Layers,
            Heads = Heads,
            KvHeads = KvHeads,
            HeadDim = HeadDim,
            Vocab = Vocab,
            MaxPositions = MaxPositions,
            Eps = Eps,
            Tied = Tied,
            Block = block,
            Tensors = _tensors.ToList(),
        };
    }
}
