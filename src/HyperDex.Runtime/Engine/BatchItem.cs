namespace HyperDex.Runtime.Engine;

/// <summary>
/// One sequence's part of a batched forward step (<see cref="HostEngine.Forward(IReadOnlyList{BatchItem})"/>): its
/// next tokens (one in decode, a chunk in prefill) and where its last token's logits go.
/// </summary>
public readonly record struct BatchItem(KvSequence Sequence, ReadOnlyMemory<int> Tokens, Memory<float> Logits);
