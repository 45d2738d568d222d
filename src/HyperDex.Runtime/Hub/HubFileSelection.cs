using System.Text.RegularExpressions;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// Chooses what HyperDex needs from a repository: the configuration and tokenizer files, and one set of weights at
/// the root: safetensors (single or sharded with its index) over PyTorch .bin. ONNX, TensorFlow, Flax, GGUF,
/// `original/` checkpoints, READMEs and anything else are skipped.
/// </summary>
public static partial class HubFileSelection
{
    /// <summary>Fetched whenever the repository has them.</summary>
    public static IReadOnlyList<string> AlwaysFiles { get; } =
    [
        "config.json", "generation_config.json",
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
        "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja",
    ];

    public static IReadOnlyList<string> Select(IEnumerable<string> files, HubRepoId repo)
    {
        var names = new HashSet<string>(files, StringComparer.Ordinal);
        if (!names.Contains("config.json"))
        {
            throw new HdxException("HubNotATransformersModel", HdxErrorKind.NotSupported,
                $"'{repo}' has no config.json at its root, so it is not a Transformers model HyperDex can compile.", repo.Value,
                "Pick the repository of the original Transformers checkpoint (not a GGUF, ONNX or adapter-only repository).");
        }

        var weights = Weights(names);
        if (weights.Count == 0)
        {
            string found = string.Join(", ", names.Where(IsOtherWeightFormat).Order(StringComparer.Ordinal).Take(5));
            throw new HdxException("HubNoSupportedWeights", HdxErrorKind.NotSupported,
                $"'{repo}' has no safetensors or PyTorch weights at its root{(found.Length > 0 ? $" (only: {found})" : string.Empty)}.",
                repo.Value, "HyperDex compiles Transformers checkpoints in safetensors (preferred) or pytorch_model.bin format.");
        }

        return AlwaysFiles.Where(names.Contains).Concat(weights).ToList();
    }

    /// <summary>Whether a file name is a weight file the compiler reads (removed by -LowMemoryUsage).</summary>
    public static bool IsWeightFile(string name) =>
        name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal)
        || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal) || name.EndsWith(".bin.index.json", StringComparison.Ordinal);

    private static List<string> Weights(HashSet<string> names)
    {
        foreach (var (single, index, shard) in new[]
        {
            ("model.safetensors", "model.safetensors.index.json", SafetensorsShard()),
            ("pytorch_model.bin", "pytorch_model.bin.index.json", PytorchShard()),
        })
        {
            if (names.Contains(index))
            {
                return [index, .. names.Where(n => shard.IsMatch(n)).Order(StringComparer.Ordinal)];
            }

            if (names.Contains(single))
            {
                return [single];
            }
        }

        return [];
    }

    private static bool IsOtherWeightFormat(string name) =>
        name.EndsWith(".onnx", StringComparison.Ordinal) || name.EndsWith(".h5", StringComparison.Ordinal)
        || name.EndsWith(".msgpack", StringComparison.Ordinal) || name.EndsWith(".gguf", StringComparison.Ordinal)
        || name.EndsWith(".pth", StringComparison.Ordinal) || name.EndsWith(".pt", StringComparison.Ordinal)
        || name.EndsWith(".safetensors", StringComparison.Ordinal);

    [GeneratedRegex(@"^model-\d+-of-\d+\.safetensors$", RegexOptions.CultureInvariant)]
    private static partial Regex SafetensorsShard();

    [GeneratedRegex(@"^pytorch_model-\d+-of-\d+\.bin$", RegexOptions.CultureInvariant)]
    private static partial Regex PytorchShard();
}
