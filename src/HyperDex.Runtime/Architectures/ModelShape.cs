using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Architectures;

/// <summary>An architecture descriptor applied to a config: every dimension, the block structure and the tensors.</summary>
public sealed record ModelShape
{
    public required ArchitectureDescriptor Descriptor { get; init; }

    public required int Hidden { get; init; }

    /// <summary>The dense MLP's width (config intermediate_size; an expert's is the experts' own).</summary>
    public required int Intermediate { get; init; }

    public required int Layers { get; init; }

    public required int Heads { get; init; }

    public required int KvHeads { get; init; }

    public required int HeadDim { get; init; }

    public required int Vocab { get; init; }

    public required int MaxPositions { get; init; }

    public required double Eps { get; init; }

    public required bool Tied { get; init; }

    public required BlockSpec Block { get; init; }

    public required IReadOnlyList<ExpectedTensor> Tensors { get; init; }

    /// <summary>Parameters of the model (a tied head counted once).</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary>The first window of a sliding-window layer, or null (reports).</summary>
    public int? SlidingWindow => Block.Layers.FirstOrDefault(l => l.Window > 0)?.Window;

    public ModelArchitecture ToManifest() => new()
    {
        Name = Descriptor.Name,
        HiddenSize = Hidden,
        Layers = Layers,
        Heads = Heads,
        KvHeads = KvHeads,
        HeadDim = HeadDim,
        IntermediateSize = Intermediate,
        VocabSize = Vocab,
        MaxPositions = MaxPositions,
        TiedEmbeddings = Tied,
    };
}
