using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Architectures;

/// <summary>A tensor the checkpoint must hold, resolved for one config: concrete names, shape and split.</summary>
public sealed record ExpectedTensor(string Canonical, string Source, IReadOnlyList<long> Shape, int SplitAxis,
    string? SplitDimension, TensorRole Role, int Layer)
{
    public long ElementCount => Shape.Aggregate(1L, (product, dim) => product * dim);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>An architecture descriptor applied to a config: every dimension and scalar, and the expected tensors.</summary>
public sealed record ModelShape
{
    public required ArchitectureDescriptor Descriptor { get; init; }

    public required int Hidden { get; init; }

    public required int Intermediate { get; init; }

    public required int Layers { get; init; }

    public required int Heads { get; init; }

    public required int KvHeads { get; init; }

    public required int HeadDim { get; init; }

    public required int Vocab { get; init; }

    public required int MaxPositions { get; init; }

    public required double Eps { get; init; }

    public required double RopeTheta { get; init; }

    public required int RopeScalingType { get; init; }

    public RopeScaling? RopeScaling { get; init; }

    public required int Activation { get; init; }

    public required bool Tied { get; init; }

    public required bool QkvBias { get; init; }

    /// <summary>Attention window when the model uses sliding-window attention, else null.</summary>
    public int? SlidingWindow { get; init; }

    public required IReadOnlyList<ExpectedTensor> Tensors { get; init; }

    /// <summary>Parameters of the model (a tied head counted once).</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

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
