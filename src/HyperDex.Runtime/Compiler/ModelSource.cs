using System.Globalization;
using System.Security.Cryptography;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 0: an HF folder checked against its architecture: config resolved, every expected tensor present with the
/// right shape, tokenizer files valid and consistent with the embeddings. Holds the open weights.
/// </summary>
public sealed class ModelSource : IDisposable
{
    private ModelSource(string folder, string modelId, HfModelConfig config, ModelShape shape, GenerationDefaults generation,
        TokenizerSummary tokenizer, CheckpointWeights weights, IReadOnlyList<string> problems)
    {
        Folder = folder;
        ModelId = modelId;
        Config = config;
        Shape = shape;
        Generation = generation;
        Tokenizer = tokenizer;
        Weights = weights;
        Problems = problems;
    }

    public string Folder { get; }

    public string ModelId { get; }

    public HfModelConfig Config { get; }

    public ModelShape Shape { get; }

    public GenerationDefaults Generation { get; }

    public TokenizerSummary Tokenizer { get; }

    public CheckpointWeights Weights { get; }

    public IReadOnlyList<string> Problems { get; }

    /// <summary>Every source file the compiler reads, relative to <see cref="Folder"/>.</summary>
    public IEnumerable<string> Files => new[] { HfModelConfig.FileName, GenerationConfig.FileName }
        .Where(f => File.Exists(Path.Combine(Folder, f)))
        .Concat(Weights.FileNames)
        .Concat(Tokenizer.Files)
        .Distinct(StringComparer.Ordinal);

    public IReadOnlyList<string> SourceDtypes => Shape.Tensors.Select(t => SafetensorsDtypes.NameOf(Weights.Get(t.Source).Dtype))
        .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The folder's last two path parts, as HyperDex names local models ("org/name").</summary>
    public static string ModelIdOf(string folder)
    {
        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        string name = Path.GetFileName(full);
        string? org = Path.GetFileName(Path.GetDirectoryName(full));
        return string.IsNullOrEmpty(org) ? name : $"{org}/{name}";
    }

    public static ModelSource Open(string folder, bool scanNonFinite, CancellationToken cancellation) =>
        Open(folder, modelId: null, scanNonFinite, cancellation);

    /// <param name="modelId">The HF id when the folder is not named after it (a Hub cache snapshot); null = <see cref="ModelIdOf"/>.</param>
    public static ModelSource Open(string folder, string? modelId, bool scanNonFinite, CancellationToken cancellation)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder))
        {
            throw new HdxException("ModelFolderNotFound", HdxErrorKind.NotFound, $"The model folder {folder} does not exist.", folder,
                "Pass the path of a local HuggingFace model folder.");
        }

        // config.json is read safely and bounded by the weights before any architecture is resolved, since its
        // dimensions size everything built from it (ConfigBounds).
        byte[] configJson = ConfigBounds.ReadConfig(folder);
        string configPath = Path.Combine(folder, HfModelConfig.FileName);
        var config = HfModelConfig.Parse(configJson, configPath);
        var weights = CheckpointWeights.Open(folder);
        try
        {
            ConfigBounds.Check(configJson, configPath, weights);
            var shape = SupportedArchitectures.Resolve(config, configPath);
            var generation = GenerationConfig.Load(folder, config);
            var tokenizer = TokenizerFiles.Inspect(folder);
            var problems = new List<string>();
            CheckTensors(folder, shape, weights, problems);
            CheckTokenizer(folder, shape, tokenizer, generation, problems);
            if (scanNonFinite)
            {
                ScanNonFinite(shape, weights, problems, cancellation);
            }

            return new ModelSource(folder, modelId ?? ModelIdOf(folder), config, shape, generation, tokenizer, weights, problems);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static void CheckTensors(string folder, ModelShape shape, CheckpointWeights weights, List<string> problems)
    {
        var missing = shape.Tensors.Where(t => !weights.Contains(t.Source)).Select(t => t.Source).ToList();
        var wrong = shape.Tensors.Where(t => weights.Contains(t.Source) && !weights.Get(t.Source).Shape.SequenceEqual(t.Shape)).ToList();
        var expected = shape.Tensors.Select(t => t.Source).ToHashSet(StringComparer.Ordinal);
        var unexpected = weights.Tensors.Select(t => t.Name).Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal).ToList();

        // A config that disagrees with the weights shows as the same mismatch in every layer, the embedding's shape, or
        // layers beyond (or short of) num_hidden_layers; one odd tensor is a damaged checkpoint instead.
        bool embedWrong = wrong.Any(t => t.Canonical == "embed");
        bool everyLayer = wrong.Where(t => t.Layer >= 0).GroupBy(t => t.Canonical[(t.Canonical.IndexOf('.', 7) + 1)..]).Any(g => g.Count() == shape.Layers);
        bool extraLayers = unexpected.Any(n => n.StartsWith($"model.layers.{shape.Layers}.", StringComparison.Ordinal));
        var absentLayers = Enumerable.Range(0, shape.Layers)
            .Where(l => shape.Tensors.Where(t => t.Layer == l).All(t => !weights.Contains(t.Source))).ToList();
        bool fewerLayers = absentLayers.Count > 0 && absentLayers.Count < shape.Layers && absentLayers[^1] == shape.Layers - 1
            && absentLayers.Count == shape.Layers - absentLayers[0];
        if (embedWrong || everyLayer || extraLayers || fewerLayers)
        {
            var first = wrong.FirstOrDefault();
            string detail = first is not null
                ? $"'{first.Source}' is {weights.Get(first.Source).ShapeText} in the weights but config.json implies {first.ShapeText}"
                : $"the weights hold a different number of layers than num_hidden_layers {shape.Layers}";
            throw new HdxException("ConfigContradictsWeights", HdxErrorKind.InvalidData, $"{folder}: config.json contradicts the weights: {detail}.",
                Path.Combine(folder, HfModelConfig.FileName), "Use the config.json that belongs to these weights.");
        }

        if (missing.Count > 0)
        {
            throw new HdxException("CheckpointTensorMissing", HdxErrorKind.InvalidData,
                $"{folder}: {missing.Count} tensor(s) that {shape.Descriptor.Name} needs are missing: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}.",
                folder, "Download the complete checkpoint again.");
        }

        if (wrong.Count > 0)
        {
            var t = wrong[0];
            throw new HdxException("CheckpointShapeMismatch", HdxErrorKind.InvalidData,
                $"{folder}: tensor '{t.Source}' is {weights.Get(t.Source).ShapeText}, expected {t.ShapeText}{(wrong.Count > 1 ? $" (and {wrong.Count - 1} more)" : "")}.",
                folder, "The checkpoint is damaged; download or export it again.");
        }

        problems.AddRange(unexpected.Select(n => $"unexpected tensor '{n}' {weights.Get(n).ShapeText} is ignored"));
    }

    private static void CheckTokenizer(string folder, ModelShape shape, TokenizerSummary tokenizer, GenerationDefaults generation, List<string> problems)
    {
        if (tokenizer.VocabSize > shape.Vocab)
        {
            throw new HdxException("TokenizerVocabMismatch", HdxErrorKind.InvalidData,
                $"{folder}: the tokenizer has {tokenizer.VocabSize} ids but the embedding has only {shape.Vocab} rows.", folder,
                "The tokenizer files do not belong to these weights; copy the right ones.");
        }

        var ids = generation.EosTokenIds.Select(id => ("eos_token_id", id));
        if (generation.BosTokenId is int bos)
        {
            ids = ids.Prepend(("bos_token_id", bos));
        }

        foreach (var (name, id) in ids.Where(p => p.Item2 < 0 || p.Item2 >= shape.Vocab))
        {
            problems.Add($"{name} {id} is outside the vocabulary of {shape.Vocab}");
        }
    }

    private static void ScanNonFinite(ModelShape shape, CheckpointWeights weights, List<string> problems, CancellationToken cancellation)
    {
        var buffer = new float[1 << 16];
        foreach (var expected in shape.Tensors)
        {
            cancellation.ThrowIfCancellationRequested();
            var tensor = weights.Get(expected.Source);
            var file = weights.FileOf(expected.Source);
            long bad = 0;
            for (long start = 0; start < tensor.ElementCount; start += buffer.Length)
            {
                var span = buffer.AsSpan(0, (int)Math.Min(buffer.Length, tensor.ElementCount - start));
                file.ReadSingles(tensor, start, span);
                foreach (float value in span)
                {
                    bad += float.IsFinite(value) ? 0 : 1;
                }
            }

            if (bad > 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"tensor '{expected.Source}' holds {bad} NaN/Inf value(s)"));
            }
        }
    }

    /// <summary>sha256 (lower-case hex) of every source file, keyed by its name relative to the folder.</summary>
    public IReadOnlyDictionary<string, string> HashFiles(CancellationToken cancellation)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Files)
        {
            cancellation.ThrowIfCancellationRequested();
            using var stream = File.OpenRead(Path.Combine(Folder, file));
            hashes[file] = Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        }

        return hashes;
    }

    public ModelReport Report(string? outputPath, HdxDtype? dtype) => new()
    {
        SourcePath = Folder,
        ModelId = ModelId,
        Architecture = Shape.Descriptor.Name,
        ParameterCount = Shape.ParameterCount,
        Layers = Shape.Layers,
        Hidden = Shape.Hidden,
        Heads = Shape.Heads,
        KvHeads = Shape.KvHeads,
        Vocab = Shape.Vocab,
        MaxPositions = Shape.MaxPositions,
        TiedEmbeddings = Shape.Tied,
        TokenizerKind = Tokenizer.Kind,
        TokenizerVocab = Tokenizer.VocabSize,
        Dtypes = SourceDtypes,
        Problems = Problems,
        OutputPath = outputPath,
        Dtype = dtype?.ToUserName(),
    };

    public void Dispose() => Weights.Dispose();
}
