namespace HyperDex.Runtime.Compiled;

/// <summary>
/// hdx.json: what was compiled, from what, and which device counts are built. Written last, atomically,
/// so a folder without it (or with a variant missing) is incomplete.
/// </summary>
public sealed record CompiledManifest
{
    /// <summary>
    /// 4: checksums (files and sourceHashes) are XXH128, not SHA-256, so a compile and Test-HdxModel hash at memory
    /// speed (DESIGN.md, "Checksums are XXH128"); 3: the general op set (<see cref="OpCode"/>: Norm, Project, Rotary,
    /// ... with modes by name); 2 had the fused Llama-only ops; 2 and later store matrices in row-interleaved tiles
    /// (<see cref="WeightTiles"/>); 1 had them row-major.
    /// </summary>
    public const int CurrentFormatVersion = 4;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>HF id ("org/name") or the source folder's last two path parts.</summary>
    public required string ModelId { get; init; }

    public required string SourcePath { get; init; }

    /// <summary>
    /// Every source file read, by file name relative to the source folder: "xxh128:" and its hash, or "sha256:" and
    /// the name of the Hugging Face cache blob it links to (<see cref="Compiler.ModelSource.HashFiles"/>).
    /// </summary>
    public required IReadOnlyDictionary<string, string> SourceHashes { get; init; }

    public required ModelArchitecture Architecture { get; init; }

    public required HdxDtype Dtype { get; init; }

    public required int MaxLength { get; init; }

    public required long ParameterCount { get; init; }

    /// <summary>Tokenizer files copied into <see cref="CompiledLayout.TokenizerDirectory"/>.</summary>
    public required IReadOnlyList<string> TokenizerFiles { get; init; }

    public required GenerationDefaults Generation { get; init; }

    /// <summary>
    /// How the weight images lay out matrices: the host CPU backend's row-interleaved 4-row tiles
    /// (<see cref="WeightTiles"/>). Another backend with its own layout writes its own name here.
    /// </summary>
    public string WeightLayout { get; init; } = HostTilesLayout;

    public const string HostTilesLayout = "host-tiles-4";

    /// <summary>One entry per device count whose param/ and inst/ artifacts are complete.</summary>
    public required IReadOnlyList<DeviceVariant> Variants { get; init; }

    /// <summary>
    /// Size and sha256 of every artifact (path relative to the model folder, '/'-separated; hdx.json itself
    /// excluded). Every load checks sizes and the small files' hashes; Test-HdxModel checks them all. Null in folders
    /// compiled before checksums were recorded.
    /// </summary>
    public IReadOnlyDictionary<string, FileChecksum>? Files { get; init; }
}

/// <summary>The compiled artifacts for one device count.</summary>
public sealed record DeviceVariant
{
    public required int NumDevice { get; init; }

    /// <summary>sha256 over the device programs in device order.</summary>
    public required string ProgramDigest { get; init; }

    public required long ParamBytesPerDevice { get; init; }
}

/// <summary>The architecture descriptor's resolved hyper-parameters, recorded for reports and checks only:
/// the engine runs the program, which carries every dimension it needs.</summary>
public sealed record ModelArchitecture
{
    /// <summary>The HF architecture name, e.g. LlamaForCausalLM.</summary>
    public required string Name { get; init; }

    public required int HiddenSize { get; init; }

    public required int Layers { get; init; }

    public required int Heads { get; init; }

    public required int KvHeads { get; init; }

    public required int HeadDim { get; init; }

    public required int IntermediateSize { get; init; }

    public required int VocabSize { get; init; }

    public required int MaxPositions { get; init; }

    public required bool TiedEmbeddings { get; init; }
}

/// <summary>Defaults from generation_config.json (null where it does not set them) and the EOS ids.</summary>
public sealed record GenerationDefaults
{
    public int? BosTokenId { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    public bool? DoSample { get; init; }

    public double? Temperature { get; init; }

    public int? TopK { get; init; }

    public double? TopP { get; init; }

    public double? RepetitionPenalty { get; init; }

    public int? MaxNewTokens { get; init; }
}
