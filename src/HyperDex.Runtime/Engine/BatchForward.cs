namespace HyperDex.Runtime.Engine;

/// <summary>
/// One sequence's share of a batched step: the tokens to append at its next positions (a prefill chunk, or the one
/// token of a decode step) and where the last token's logits go.
/// </summary>
public readonly record struct BatchItem(KvSequence Sequence, ReadOnlyMemory<int> Tokens, Memory<float> Logits);

/// <summary>
/// The one engine entry point of the serving scheduler (<see cref="Serving.BatchScheduler"/>): a step over several
/// sequences at once. The engine's batched forward (every weight read once per step for all rows, matrix-matrix
/// kernels) replaces this body; until then each item runs as its own forward, which gives the same results.
/// </summary>
public static class BatchForward
{
    public static void Forward(HostEngine engine, IReadOnlyList<BatchItem> batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            BatchItem item = batch[i];
            engine.Forward(item.Sequence, item.Tokens.Span, item.Logits.Span);
        }
    }
}
