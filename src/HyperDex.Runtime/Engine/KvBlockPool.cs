using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The engine's KV cache blocks: fixed-size blocks of <see cref="BlockSize"/> positions, identified by an index that
/// is the same on every device and every layer (each device stores its own KV heads for that block). Blocks are
/// reference counted so that a later prefix cache can share a block between sequences; a sequence reserves all the
/// blocks it can need when it starts, so generation never allocates or waits mid-way.
/// </summary>
public sealed class KvBlockPool
{
    private readonly int[] _referenceCounts;
    private readonly int[] _free;
    private int _freeCount;

    internal KvBlockPool(int blockSize, int blockCount)
    {
        BlockSize = blockSize;
        BlockCount = blockCount;
        _referenceCounts = new int[blockCount];
        _free = new int[blockCount];
        for (int i = 0; i < blockCount; i++)
        {
            _free[i] = blockCount - 1 - i;
        }

        _freeCount = blockCount;
    }

    public int BlockSize { get; }

    public int BlockCount { get; }

    public int FreeBlocks
    {
        get
        {
            lock (_free)
            {
                return _freeCount;
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> free blocks (reference count 1) into <paramref name="blocks"/>, waiting while
    /// other sequences hold them. Throws when the pool could never hold that many.
    /// </summary>
    internal void Rent(Span<int> blocks, CancellationToken cancellation)
    {
        if (blocks.Length > BlockCount)
        {
            throw new HdxException("KvCacheTooSmall", HdxErrorKind.ResourceUnavailable,
                $"a sequence needs {blocks.Length} KV blocks but the pool holds {BlockCount}");
        }

        lock (_free)
        {
            while (_freeCount < blocks.Length)
            {
                cancellation.ThrowIfCancellationRequested();
                Monitor.Wait(_free, 50);
            }

            for (int i = 0; i < blocks.Length; i++)
            {
                int block = _free[--_freeCount];
                _referenceCounts[block] = 1;
                blocks[i] = block;
            }
        }
    }

    /// <summary>Adds a reference to a block in use (sharing it with another sequence).</summary>
    internal void Retain(int block)
    {
        lock (_free)
        {
            if (_referenceCounts[block] <= 0)
            {
                throw new InvalidOperationException($"KV block {block} is not in use");
            }

            _referenceCounts[block]++;
        }
    }

    /// <summary>Drops one reference to each block; blocks nobody references return to the free list.</summary>
    internal void Release(ReadOnlySpan<int> blocks)
    {
        lock (_free)
        {
            foreach (int block in blocks)
            {
                if (--_referenceCounts[block] == 0)
                {
                    _free[_freeCount++] = block;
                }
            }

            Monitor.PulseAll(_free);
        }
    }
}
