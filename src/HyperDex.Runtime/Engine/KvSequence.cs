namespace HyperDex.Runtime.Engine;

/// <summary>
/// One sequence's view of the KV cache: its block table (position p lives in block Blocks[p / BlockSize] at offset
/// p % BlockSize) and how many positions are filled. Dispose returns the blocks to the pool.
/// </summary>
public sealed class KvSequence : IDisposable
{
    private readonly KvBlockPool _pool;
    private int[]? _blocks;

    internal KvSequence(KvBlockPool pool, int capacity, CancellationToken cancellation)
    {
        _pool = pool;
        int count = (capacity + pool.BlockSize - 1) / pool.BlockSize;
        var blocks = new int[count];
        pool.Rent(blocks, cancellation);
        _blocks = blocks;
        Capacity = count * pool.BlockSize;
    }

    /// <summary>Positions this sequence can hold (whole blocks).</summary>
    public int Capacity { get; }

    /// <summary>Positions whose keys and values are in the cache.</summary>
    public int Length { get; internal set; }

    internal int[] Blocks => _blocks ?? throw new ObjectDisposedException(nameof(KvSequence));

    public void Dispose()
    {
        int[]? blocks = Interlocked.Exchange(ref _blocks, null);
        if (blocks is not null)
        {
            _pool.Release(blocks);
        }
    }
}
