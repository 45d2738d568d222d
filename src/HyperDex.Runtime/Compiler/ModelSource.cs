using System.Globalization;
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

    private IReadOnlyDictionary<string, string>? _hashes;

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

    public IReadOnlyList<string> SourceDtypes => Shape.Tensors.DistinctBy(t => t.Source).Select(t => SafetensorsDtypes.NameOf(Weights.Get(t.Source).Dtype))
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
            var shape = WithoutMissingPrefix(SupportedArchitectures.Resolve(config), weights);
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

    /// <summary>
    /// Checkpoints that drop the base model's prefix (the original GPT-2 export's "h.0.attn..." for
    /// "transformer.h.0.attn...") are read under the names they have.
    /// </summary>
    private static ModelShape WithoutMissingPrefix(ModelShape shape, CheckpointWeights weights)
    {
        string prefix = shape.Descriptor.BasePrefix;
        if (shape.Tensors.All(t => !t.Source.StartsWith(prefix, StringComparison.Ordinal) || weights.Contains(t.Source)))
        {
            return shape;
        }

        return shape with
        {
            Tensors = shape.Tensors.Select(t => t.Source.StartsWith(prefix, StringComparison.Ordinal) && !weights.Contains(t.Source)
                && weights.Contains(t.Source[prefix.Length..]) ? t with { Source = t.Source[prefix.Length..] } : t).ToList(),
        };
    }

    /// <summary>
    /// Every tensor the descriptor reads is present with its shape, and every checkpoint tensor is read or on the
    /// architecture's ignore list: a tensor nobody reads means the checkpoint computes something we would not.
    /// </summary>
    private static void CheckTensors(string folder, ModelShape shape, CheckpointWeights weights, List<string> problems)
    {
        var sources = shape.Tensors.GroupBy(t => t.Source, StringComparer.Ordinal).Select(g => g.First()).ToList();
        var missing = sources.Where(t => !weights.Contains(t.Source)).Select(t => t.Source).ToList();
        var wrong = sources.Where(t => weights.Contains(t.Source) && !weights.Get(t.Source).Shape.SequenceEqual(t.SourceShape)).ToList();
        var expected = sources.Select(t => t.Source).ToHashSet(StringComparer.Ordinal);
        var ignored = shape.Descriptor.IgnoredSuffixes;
        var unexpected = weights.Tensors.Select(t => t.Name)
            .Where(n => !expected.Contains(n) && !ignored.Any(suffix => n.EndsWith(suffix, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();

        // A config that disagrees with the weights shows as the same mismatch in every layer, the embedding's shape, or
        // layers beyond (or short of) the config's layer count; one odd tensor is a damaged checkpoint instead.
        bool embedWrong = wrong.Any(t => t.Canonical == "embed");
        bool everyLayer = wrong.Where(t => t.Layer >= 0).GroupBy(t => t.Canonical[(t.Canonical.IndexOf('.', 7) + 1)..]).Any(g => g.Count() == shape.Layers);
        string layerPattern = $".{shape.Layers}.";
        bool extraLayers = unexpected.Any(n => n.Contains(layerPattern, StringComparison.Ordinal)
            && sources.Any(t => t.Layer == shape.Layers - 1 && n.Replace(layerPattern, $".{shape.Layers - 1}.", StringComparison.Ordinal) == t.Source));
        var absentLayers = Enumerable.Range(0, shape.Layers)
            .Where(l => sources.Where(t => t.Layer == l).All(t => !weights.Contains(t.Source))).ToList();
        bool fewerLayers = absentLayers.Count > 0 && absentLayers.Count < shape.Layers && absentLayers[^1] == shape.Layers - 1
            && absentLayers.Count == shape.Layers - absentLayers[0];
        if (embedWrong || everyLayer || extraLayers || fewerLayers)
        {
            var first = wrong.FirstOrDefault();
            string detail = first is not null
                ? $"'{first.Source}' is {weights.Get(first.Source).ShapeText} in the weights but config.json implies {first.SourceShapeText}"
                : $"the weights hold a different number of layers than the config's {shape.Layers}";
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
                $"{folder}: tensor '{t.Source}' is {weights.Get(t.Source).ShapeText}, expected {t.SourceShapeText}{(wrong.Count > 1 ? $" (and {wrong.Count - 1} more)" : "")}.",
                folder, "The checkpoint is damaged; download or export it again.");
        }

        if (unexpected.Count > 0)
        {
            throw new HdxException("CheckpointTensorUnexpected", HdxErrorKind.InvalidData,
                $"{folder}: {unexpected.Count} tensor(s) that {shape.Descriptor.Name} with this config does not read: {string.Join(", ", unexpected.Take(5).Select(n => $"'{n}' {weights.Get(n).ShapeText}"))}{(unexpected.Count > 5 ? ", ..." : "")}. "
                + "They would change the computation, so the model cannot be compiled as if they were absent.",
                folder, "Check that config.json belongs to these weights (a bias flag such as attention_bias or mlp_bias may be missing).");
        }
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
        foreach (var expected in shape.Tensors.DistinctBy(t => t.Source))
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

    /// <summary>
    /// The hash of every source file, computed once per source: "xxh128:" and the file's XXH128 (a change detector
    /// for the reuse check, at memory speed). A file that links into a Hugging Face cache blob named by a SHA-256 (an
    /// LFS file, verified against that hash when it was downloaded) takes "sha256:" and the blob's name instead of
    /// being read again, so checking a large downloaded model costs no read of its weights.
    /// </summary>
    public IReadOnlyDictionary<string, string> HashFiles(CancellationToken cancellation)
    {
        if (_hashes is not null)
        {
            return _hashes;
        }

        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Files)
        {
            cancellation.ThrowIfCancellationRequested();
            string path = Path.Combine(Folder, file);
            if (VerifiedBlobHash(path) is string blob)
            {
                hashes[file] = "sha256:" + blob;
                continue;
            }

            // In blocks, so a Ctrl+C (or a failed compile stopping SourceHashing) does not wait for a multi-GB file.
            hashes[file] = "xxh128:" + (ArtifactChecksums.Hash(path, out _, null, cancellation)
                ?? throw new IOException($"{path} is not a readable regular file"));
        }

        _hashes = hashes;
        return hashes;
    }

    private static string? VerifiedBlobHash(string path)
    {
        string? target = new FileInfo(path).LinkTarget;
        string? name = target is null ? null : Path.GetFileName(target);
        string? parent = target is null ? null : Path.GetFileName(Path.GetDirectoryName(target));
        return parent == "blobs" && name is { Length: 64 } && name.All(char.IsAsciiHexDigitLower) ? name : null;
    }

    public ModelReport Report(string? outputPath, HdxDtype? dtype) => new()
    {
        SourcePath = Folder,
        ModelId = ModelId,
        Architecture = Shape.Descriptor.Name,
        Block = Shape.Block.Describe(),
        Tensors = TensorFates(),
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

    /// <summary>What becomes of every checkpoint tensor: the canonical tensors cut from it, or ignored (a known buffer).</summary>
    private List<string> TensorFates()
    {
        var bySource = Shape.Tensors.ToLookup(t => t.Source, StringComparer.Ordinal);
        return Weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).SelectMany(name => bySource[name].Any()
            ? bySource[name].Select(t => $"{name} {t.SourceShapeText} -> {t.Canonical} {t.ShapeText}"
                + (t.Transform.IsNone ? "" : $" ({t.Transform.Describe()})")
                + (t.SplitDimension is { } split ? $", split by {split}" : ", replicated"))
            : [$"{name} {Weights.Get(name).ShapeText}: ignored (not a parameter)"]).ToList();
    }

    public void Dispose() => Weights.Dispose();
}
