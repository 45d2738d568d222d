namespace HyperDex.Runtime.Engine;

/// <summary>
/// The seam between generation and what executes a compiled program: bind the device programs of one variant (a
/// backend's Load), run forward steps of one or many sequences, hand out KV blocks (copying a cached block for a
/// copy-on-write prefix), and say what it holds in memory. <see cref="HostEngine"/> is the host CPU implementation;
/// an LPU (XRT) or GPU backend implements the same members over the same <see cref="Compiled.DeviceProgram"/>s.
/// Weight layout is a backend's own: the host engine's 4-row tiles are recorded in hdx.json as
/// <see cref="Compiled.CompiledManifest.WeightLayout"/>.
/// </summary>
public interface IExecutionBackend : IDisposable
{
    string ModelPath { get; }

    int NumDevice { get; }

    int VocabSize { get; }

    int MaxLength { get; }

    /// <summary>The KV block pool, shared with the prefix cache.</summary>
    KvBlockPool Blocks { get; }

    /// <summary>Weights plus KV cache plus working buffers: what keeping the model loaded costs.</summary>
    long MemoryBytes { get; }

    /// <summary>True after a step failed; the backend must then be reloaded.</summary>
    bool IsFaulted { get; }

    /// <summary>A sequence with room for <paramref name="capacity"/> positions, outside the prefix cache.</summary>
    KvSequence CreateSequence(int capacity, CancellationToken cancellation = default);

    /// <summary>A sequence with room for <paramref name="capacity"/> positions, reusing the longest cached prefix of <paramref name="prompt"/>.</summary>
    KvSequence CreateSequence(ReadOnlySpan<int> prompt, int capacity, CancellationToken cancellation = default);

    /// <summary>One sequence's next tokens; the last token's logits into <paramref name="logits"/>.</summary>
    void Forward(KvSequence sequence, ReadOnlySpan<int> tokens, Span<float> logits);

    /// <summary>One step over several sequences (continuous batching).</summary>
    void Forward(IReadOnlyList<BatchItem> batch);
}
