namespace HyperDex;

/// <summary>Convert-HdxModel's finding about a HuggingFace model folder (and, unless -ValidateOnly, its conversion).</summary>
public sealed class ModelReport
{
    internal ModelReport(Runtime.Compiler.ModelReport report)
    {
        Path = report.SourcePath;
        ModelId = report.ModelId;
        Architecture = report.Architecture;
        Block = report.Block;
        Tensors = report.Tensors.ToArray();
        ParameterCount = report.ParameterCount;
        Layers = report.Layers;
        Hidden = report.Hidden;
        Heads = report.Heads;
        KvHeads = report.KvHeads;
        Vocab = report.Vocab;
        MaxPositions = report.MaxPositions;
        TiedEmbeddings = report.TiedEmbeddings;
        TokenizerKind = report.TokenizerKind;
        TokenizerVocab = report.TokenizerVocab;
        Dtypes = report.Dtypes.ToArray();
        Problems = report.Problems.ToArray();
        OutputPath = report.OutputPath;
        Dtype = report.Dtype;
    }

    /// <summary>The source folder.</summary>
    public string Path { get; }

    public string ModelId { get; }

    public string Architecture { get; }

    /// <summary>The block structure the architecture's descriptor chose for this config.</summary>
    public string Block { get; }

    /// <summary>Every checkpoint tensor's fate: the compiled tensor cut from it (transform, split), or ignored.</summary>
    public string[] Tensors { get; }

    public long ParameterCount { get; }

    public int Layers { get; }

    public int Hidden { get; }

    public int Heads { get; }

    public int KvHeads { get; }

    /// <summary>Embedding rows (config vocab_size).</summary>
    public int Vocab { get; }

    public int MaxPositions { get; }

    public bool TiedEmbeddings { get; }

    public string TokenizerKind { get; }

    /// <summary>Ids the tokenizer defines (at most <see cref="Vocab"/>).</summary>
    public int TokenizerVocab { get; }

    /// <summary>Dtypes of the source weights.</summary>
    public string[] Dtypes { get; }

    /// <summary>Findings that did not stop the conversion.</summary>
    public string[] Problems { get; }

    /// <summary>The converted ckpt folder; null with -ValidateOnly.</summary>
    public string? OutputPath { get; }

    /// <summary>The dtype converted to; null with -ValidateOnly.</summary>
    public string? Dtype { get; }
}
