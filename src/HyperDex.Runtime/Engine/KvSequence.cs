namespace HyperDex.Runtime.Engine;

/// <summary>
/// One sequence's view of the KV cache: its block table (position p lives in block Blocks[p / BlockSize] at offset
/// p % BlockSize) and how many positions are filled. A sequence that uses the prefix cache also keeps its token ids,
/// so the blocks it fills can be indexed for later sequences. Dispose returns the blocks to the pool.
/// </summary>
public sealed class KvSequence : IDisposable
{
    private readonly KvBlockPool _pool;
    private int[]? _blocks;

    internal KvSequence(KvBlockPool pool, int[] blocks, int[]? tokens)
    {
        _pool = pool;
        _blocks = blocks;
        Tokens = tokens;
        Capacity = blocks.Length * pool.BlockSize;
    }

    /// <summary>Positions this sequence can hold (whole blocks).</summary>
    public int Capacity { get; }

    /// <summary>Positions whose keys and values are in the cache.</summary>
    public int Length { get; internal set; }

    /// <summary>Prompt positions that came from the prefix cache instead of being computed.</summary>
    public int CachedTokens { get; internal init; }

    internal int[] Blocks => _blocks ?? throw new ObjectDisposedException(nameof(KvSequence));

    /// <summary>The token id of every filled position; null when the sequence does not use the prefix cache.</summary>
    internal int[]? Tokens { get; }

    /// <summary>A cached block whose leading positions this sequence copies into its own block at Length / BlockSize; -1 if none.</summary>
    internal int CopySource { get; set; } = -1;

    /// <summary>Leading blocks that are in the prefix cache's index (shared, or registered by this sequence).</summary>
    internal int RegisteredBlocks { get; set; }

    /// <summary>The cached block (and its generation) that the sequence's next full block follows in the index.</summary>
    internal int ChainBlock { get; set; }

    internal int ChainGeneration { get; set; }

    public void Dispose()
    {
        int[]? blocks = Interlocked.Exchange(ref _blocks, null);
        if (blocks is not null)
        {
            if (CopySource >= 0)
            {
                _pool.Release(CopySource);
                CopySource = -1;
            }

            _pool.Release(this, blocks);
        }
    }
}
