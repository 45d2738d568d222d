using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// config.json is untrusted input, and its dimensions size everything the compiler builds: num_hidden_layers of
/// 2^31 − 1 made even a validation allocate without bound. Before any architecture is resolved, every dimension is
/// bounded by the checkpoint that must hold it: layers by the number of tensors, widths by the largest tensor
/// dimension. Also reads config.json itself safely (a symlink loop, a FIFO or a huge file is an ErrorId, not an
/// IOException or a hang).
/// </summary>
internal static class ConfigBounds
{
    private const long MaxConfigBytes = 16L << 20;

    private static readonly string[] LayerKeys = ["num_hidden_layers", "n_layer", "num_layers", "n_layers"];

    private static readonly string[] WidthKeys =
    [
        "hidden_size", "n_embd", "d_model", "intermediate_size", "n_inner", "ffn_dim", "num_attention_heads", "n_head",
        "num_key_value_heads", "head_dim", "vocab_size", "moe_intermediate_size", "num_experts", "num_local_experts",
    ];

    /// <summary>config.json's bytes: ConfigNotFound when absent, ConfigUnreadable when it cannot be read as a regular file.</summary>
    public static byte[] ReadConfig(string folder)
    {
        string path = Path.Combine(folder, HfModelConfig.FileName);
        if (!File.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            throw new HdxException("ConfigNotFound", HdxErrorKind.NotFound, $"{folder} holds no {HfModelConfig.FileName}: it is not a HuggingFace model folder.",
                folder, "Point -Path at a folder with config.json, the safetensors weights and the tokenizer files.");
        }

        try
        {
            using FileStream stream = RegularFile.OpenRead(path) ?? throw new IOException("it is not a readable regular file (a dangling link, a link loop, a FIFO?)");
            if (stream.Length > MaxConfigBytes)
            {
                throw new IOException($"it holds {stream.Length} bytes; a model configuration is a few KB");
            }

            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HdxException("ConfigUnreadable", HdxErrorKind.InvalidData, $"{path} cannot be read: {e.Message}", path,
                "Replace config.json with the model's original file.", e);
        }
    }

    /// <summary>Refuses a dimension no checkpoint of these tensors could have, with ConfigDimensionOutOfRange naming the key.</summary>
    public static void Check(byte[] configJson, string path, CheckpointWeights weights)
    {
        long tensors = 0, largest = 0;
        foreach (var tensor in weights.Tensors)
        {
            tensors++;
            largest = Math.Max(largest, tensor.Shape.Count == 0 ? 1 : tensor.Shape.Max());
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(configJson);
        }
        catch (JsonException)
        {
            return; // HfModelConfig reports unparseable JSON with its own ErrorId
        }

        using (document)
        {
            foreach (var scope in Scopes(document.RootElement))
            {
                foreach (string key in LayerKeys)
                {
                    Bound(scope, key, tensors, path, "the checkpoint's tensor count");
                }

                foreach (string key in WidthKeys)
                {
                    Bound(scope, key, largest, path, "the checkpoint's largest tensor dimension");
                }
            }
        }
    }

    /// <summary>The root and the nested configurations some architectures keep their text model's dimensions in.</summary>
    private static IEnumerable<JsonElement> Scopes(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        yield return root;
        foreach (string nested in new[] { "text_config", "llm_config", "language_config" })
        {
            if (root.TryGetProperty(nested, out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                yield return inner;
            }
        }
    }

    private static void Bound(JsonElement scope, string key, long limit, string path, string what)
    {
        if (!scope.TryGetProperty(key, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            return;
        }

        if (!value.TryGetDouble(out double number) || number > limit || number < 0)
        {
            throw new HdxException("ConfigDimensionOutOfRange", HdxErrorKind.InvalidData,
                $"{path}: {key} = {value.GetRawText()} cannot match the weights ({what} is {limit})", key,
                "Fix config.json: it does not describe these safetensors weights.");
        }
    }
}
