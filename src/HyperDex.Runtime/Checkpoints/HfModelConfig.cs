using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// An HF config.json: the architecture it names and typed access to every field by any of its names (HF's
/// <c>attribute_map</c> aliases: n_embd / hidden_size, n_layer / num_hidden_layers, ...). Which fields an architecture
/// needs, with which defaults, is its descriptor's business (<see cref="Architectures.ArchitectureDescriptor"/>).
/// A field of the wrong JSON type is an error, never silently a default.
/// </summary>
public sealed class HfModelConfig
{
    public const string FileName = "config.json";

    private readonly JsonElement _root;

    private HfModelConfig(JsonElement root, string architecture, string path)
    {
        _root = root;
        Architecture = architecture;
        Path = path;
    }

    public string Architecture { get; }

    /// <summary>The whole config, as read (ckpt/hdx_config.json keeps it verbatim).</summary>
    public JsonElement Json => _root;

    /// <summary>Where the config came from, for messages.</summary>
    public string Path { get; }

    public int? BosTokenId => Whole("bos_token_id");

    public IReadOnlyList<int> EosTokenIds => Ids(_root, "eos_token_id");

    public static HfModelConfig Load(string folder)
    {
        string path = System.IO.Path.Combine(folder, FileName);
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
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("the root is not an object");
            }

            string? architecture = root.TryGetProperty("architectures", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
                ? (list[0].ValueKind == JsonValueKind.String ? list[0].GetString() : throw new JsonException("architectures[0] is not a string"))
                : null;
            if (string.IsNullOrEmpty(architecture))
            {
                throw new JsonException("it names no architectures[0]");
            }

            var config = new HfModelConfig(root.Clone(), architecture, path);
            _ = config.EosTokenIds; // fail here, not later, on a malformed id list
            return config;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw Invalid(path, e.Message, e);
        }
    }

    public int? Whole(params string[] names) => Get(names, Int);

    public double? Number(params string[] names) => Get(names, Num);

    public bool? Bool(params string[] names) => Get(names, Bool);

    public string? Text(params string[] names) => Get(names, Str);

    /// <summary>A nested object (rope_parameters, rope_scaling), or null.</summary>
    public JsonElement? Section(string name) => Value(_root, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } v => v,
        _ => throw Invalid(Path, $"{name} is neither null nor an object"),
    };

    /// <summary>A list of strings (layer_types), or null.</summary>
    public IReadOnlyList<string>? Strings(string name) => Value(_root, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } list => list.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Invalid(Path, $"{name} holds a non-string")).ToArray(),
        _ => throw Invalid(Path, $"{name} is not a list"),
    };

    /// <summary>A list of integers (mlp_only_layers), or null.</summary>
    public IReadOnlyList<int>? Ints(string name) => Value(_root, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } list => list.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i : throw Invalid(Path, $"{name} holds a non-integer")).ToArray(),
        _ => throw Invalid(Path, $"{name} is not a list"),
    };

    private T? Get<T>(string[] names, Func<JsonElement, string, T?> read)
    {
        foreach (string name in names)
        {
            try
            {
                if (Value(_root, name) is not null)
                {
                    return read(_root, name);
                }
            }
            catch (JsonException e)
            {
                throw Invalid(Path, e.Message, e);
            }
        }

        return default;
    }

    internal static HdxException Invalid(string path, string detail, Exception? inner = null) =>
        new("ConfigInvalid", HdxErrorKind.InvalidData, $"{path} is not a valid model config: {detail}", path,
            "Restore config.json from the model's original repository.", inner);

    private static JsonElement? Value(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    internal static string? Str(JsonElement root, string name) => Value(root, name) is { } v
        ? (v.ValueKind == JsonValueKind.String ? v.GetString() : throw new JsonException($"{name} is not a string"))
        : null;

    private static int? Int(JsonElement root, string name) => Value(root, name) is { } v
        ? (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw new JsonException($"{name} is not an integer"))
        : null;

    internal static double? Num(JsonElement root, string name) => Value(root, name) is { } v
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
