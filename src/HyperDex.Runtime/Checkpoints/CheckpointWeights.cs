using System.Text.Json;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Checkpoints;

/// <summary>
/// The safetensors weights of an HF folder: model.safetensors, or the shards named by model.safetensors.index.json.
/// Every tensor name resolves to the one open file that holds it.
/// </summary>
public sealed class CheckpointWeights : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _owner;

    private CheckpointWeights(List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owner, IReadOnlyList<string> fileNames)
    {
        _files = files;
        _owner = owner;
        FileNames = fileNames;
    }

    /// <summary>The weight files read, relative to the folder (index first when sharded).</summary>
    public IReadOnlyList<string> FileNames { get; }

    public IEnumerable<SafetensorsTensor> Tensors => _owner.Select(pair => pair.Value.Tensors[pair.Key]);

    public bool Contains(string name) => _owner.ContainsKey(name);

    public SafetensorsTensor Get(string name) => _owner[name].Tensors[name];

    public SafetensorsFile FileOf(string name) => _owner[name];

    public static CheckpointWeights Open(string folder)
    {
        string index = Path.Combine(folder, IndexFile);
        if (File.Exists(index))
        {
            return OpenSharded(folder, index);
        }

        string single = Path.Combine(folder, SingleFile);
        if (File.Exists(single))
        {
            return OpenFiles(folder, new[] { SingleFile }, null, Array.Empty<string>());
        }

        if (Directory.EnumerateFiles(folder, "pytorch_model*.bin").Any() || File.Exists(Path.Combine(folder, "model.pt")))
        {
            throw new HdxException("CheckpointFormatNotSupported", HdxErrorKind.NotSupported,
                $"{folder} holds PyTorch pickle weights (.bin); HyperDex reads only safetensors.", folder,
                "Save the model with save_pretrained(..., safe_serialization=True) or download its safetensors files.");
        }

        throw new HdxException("CheckpointWeightsNotFound", HdxErrorKind.NotFound,
            $"{folder} holds no {SingleFile} and no {IndexFile}.", folder,
            "Point -Path at a HuggingFace model folder with safetensors weights.");
    }

    private static CheckpointWeights OpenSharded(string folder, string index)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("no weight_map object");
            }

            weightMap = map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? throw new JsonException($"weight_map['{p.Name}'] is not a file name"), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new HdxException("CheckpointIndexInvalid", HdxErrorKind.InvalidData, $"{index} is not a valid safetensors index: {e.Message}", index,
                "Download or export the checkpoint again.", e);
        }

        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        foreach (string shard in shards)
        {
            if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || !File.Exists(Path.Combine(folder, shard)))
            {
                throw new HdxException("CheckpointShardMissing", HdxErrorKind.NotFound,
                    $"{IndexFile} names the shard '{shard}', which is not in {folder}.", Path.Combine(folder, shard),
                    "Download the missing shard (an interrupted download leaves shards out).");
            }
        }

        return OpenFiles(folder, shards, weightMap, new[] { IndexFile });
    }

    private static CheckpointWeights OpenFiles(string folder, IReadOnlyList<string> names, Dictionary<string, string>? weightMap, IReadOnlyList<string> extraFiles)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            var owner = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (string name in names)
            {
                var file = SafetensorsFile.Open(Path.Combine(folder, name));
                files.Add(file);
                foreach (string tensor in file.Tensors.Keys)
                {
                    if (!owner.TryAdd(tensor, file))
                    {
                        throw new HdxException("CheckpointDuplicateTensor", HdxErrorKind.InvalidData,
                            $"tensor '{tensor}' is stored in both {System.IO.Path.GetFileName(owner[tensor].Path)} and {name}.", folder);
                    }
                }
            }

            foreach (var (tensor, shard) in weightMap ?? new Dictionary<string, string>())
            {
                if (!owner.TryGetValue(tensor, out var file) || System.IO.Path.GetFileName(file.Path) != shard)
                {
                    throw new HdxException("CheckpointIndexMismatch", HdxErrorKind.InvalidData,
                        $"{IndexFile} places '{tensor}' in {shard}, which does not hold it.", folder,
                        "Download or export the checkpoint again.");
                }
            }

            return new CheckpointWeights(files, owner, extraFiles.Concat(names).ToList());
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    public void Dispose() => _files.ForEach(f => f.Dispose());
}
