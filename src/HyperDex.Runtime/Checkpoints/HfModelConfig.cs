using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>rope_scaling of config.json (rope_type or the older type key).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);

/// <summary>
/// The fields of an HF config.json that decoder-only architectures use, with HF's defaults where a field may be
/// absent. Which fields an architecture requires is checked by its descriptor.
/// </summary>
public sealed record HfModelConfig
{
    public const string FileName = "config.json";

    public required string Architecture { get; init; }

    public int? HiddenSize { get; init; }

    public int? IntermediateSize { get; init; }

    public int? Layers { get; init; }

    public int? Heads { get; init; }

    public int? KvHeads { get; init; }

    public int? HeadDim { get; init; }

    public int? VocabSize { get; init; }

    public int? MaxPositions { get; init; }

    public double? RmsNormEps { get; init; }

    public double? RopeTheta { get; init; }

    public RopeScaling? RopeScaling { get; init; }

    public bool? TieWordEmbeddings { get; init; }

    public bool? AttentionBias { get; init; }

    public string? HiddenAct { get; init; }

    public int? SlidingWindow { get; init; }

    public bool? UseSlidingWindow { get; init; }

    public int? BosTokenId { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    public static HfModelConfig Load(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new HdxException("ConfigNotFound", HdxErrorKind.NotFound, $"{folder} holds no {FileName}: it is not a HuggingFace model folder.",
                folder, "Point -Path at a folder with config.json, the safetensors weights and the tokenizer files.");
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses config.json text (also the copy the converter keeps in ckpt/hdx_config.json).</summary>
    public static HfModelConfig Parse(byte[] json, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("the root is not an object");
            }

            string? architecture = root.TryGetProperty("architectures", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
                ? list[0].GetString()
                : null;
            if (string.IsNullOrEmpty(architecture))
            {
                throw new JsonException("it names no architectures[0]");
            }

            return new HfModelConfig
            {
                Architecture = architecture,
                HiddenSize = Int(root, "hidden_size"),
                IntermediateSize = Int(root, "intermediate_size"),
                Layers = Int(root, "num_hidden_layers"),
                Heads = Int(root, "num_attention_heads"),
                KvHeads = Int(root, "num_key_value_heads"),
                HeadDim = Int(root, "head_dim"),
                VocabSize = Int(root, "vocab_size"),
                MaxPositions = Int(root, "max_position_embeddings"),
                RmsNormEps = Num(root, "rms_norm_eps"),
                RopeTheta = Num(root, "rope_theta"),
                RopeScaling = Scaling(root),
                TieWordEmbeddings = Bool(root, "tie_word_embeddings"),
                AttentionBias = Bool(root, "attention_bias"),
                HiddenAct = Str(root, "hidden_act"),
                SlidingWindow = Int(root, "sliding_window"),
                UseSlidingWindow = Bool(root, "use_sliding_window"),
                BosTokenId = Int(root, "bos_token_id"),
                EosTokenIds = Ids(root, "eos_token_id"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new HdxException("ConfigInvalid", HdxErrorKind.InvalidData, $"{path} is not a valid model config: {e.Message}", path,
                "Restore config.json from the model's original repository.", e);
        }
    }

    private static RopeScaling? Scaling(JsonElement root)
    {
        if (!root.TryGetProperty("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (scaling.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("rope_scaling is neither null nor an object");
        }

        string type = Str(scaling, "rope_type") ?? Str(scaling, "type") ?? throw new JsonException("rope_scaling has no rope_type");
        return new RopeScaling(type, Num(scaling, "factor") ?? 1, Num(scaling, "low_freq_factor") ?? 1,
            Num(scaling, "high_freq_factor") ?? 4, Int(scaling, "original_max_position_embeddings") ?? 0);
    }

    private static JsonElement? Value(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Str(JsonElement root, string name) => Value(root, name) is { } v
        ? (v.ValueKind == JsonValueKind.String ? v.GetString() : throw new JsonException($"{name} is not a string"))
        : null;

    private static int? Int(JsonElement root, string name) => Value(root, name) is { } v
        ? (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw new JsonException($"{name} is not an integer"))
        : null;

    private static double? Num(JsonElement root, string name) => Value(root, name) is { } v
        ? (v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new JsonException($"{name} is not a number"))
        : null;

    private static bool? Bool(JsonElement root, string name) => Value(root, name) is { } v
        ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw new JsonException($"{name} is not true or false") }
        : null;

    /// <summary>An id or a list of ids (eos_token_id may be either).</summary>
    internal static IReadOnlyList<int> Ids(JsonElement root, string name) => Value(root, name) switch
    {
        null => Array.Empty<int>(),
        { ValueKind: JsonValueKind.Array } list => list.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
        { ValueKind: JsonValueKind.Number } one => new[] { one.GetInt32() },
        _ => throw new JsonException($"{name} is not an id or a list of ids"),
    };

    internal static int? OptionalInt(JsonElement root, string name) => Int(root, name);

    internal static double? OptionalNumber(JsonElement root, string name) => Num(root, name);

    internal static bool? OptionalBool(JsonElement root, string name) => Bool(root, name);
}
