using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The engine's KV cache blocks: fixed-size blocks of <see cref="BlockSize"/> positions, identified by an index that
/// is the same on every device and every layer (each device stores its own KV heads for that block). Blocks are
/// reference counted; a sequence reserves all the blocks it can need when it starts, so generation never allocates or
/// waits mid-way.
/// <para>
/// The prefix cache lives in the same blocks: a block a sequence has filled stays indexed by its token ids
/// (<see cref="PrefixTree"/>) when the sequence ends, and a later sequence whose prompt starts with those ids takes a
/// reference to it instead of computing it again. Cached blocks nobody references are evicted, least recently used
/// first, when a sequence needs room; blocks a sequence references are never evicted.
/// </para>
/// </summary>
public sealed class KvBlockPool
{
    private readonly object _sync = new();
    private readonly int[] _referenceCounts;
    private readonly int[] _free;
    private readonly PrefixTree _tree;
    private readonly Action<int, int> _onFreed;
    private int _freeCount;
    private long _freedBlocks;
    private long _freedTokens;
    private long _hits;
    private long _misses;
    private long _evictions;

    internal KvBlockPool(int blockSize, int blockCount, bool prefixCache = true, long bytesPerBlock = 0, int maxIdleCachedBlocks = int.MaxValue)
    {
        BlockSize = blockSize;
        MaxIdleCachedBlocks = maxIdleCachedBlocks;
        BlockCount = blockCount;
        PrefixCacheEnabled = prefixCache;
        BytesPerBlock = bytesPerBlock;
        _referenceCounts = new int[blockCount];
        _free = new int[blockCount];
        for (int i = 0; i < blockCount; i++)
        {
            _free[i] = blockCount - 1 - i;
        }

        _freeCount = blockCount;
        _tree = new PrefixTree(blockSize, blockCount);
        _onFreed = (block, tokens) =>
        {
            _free[_freeCount++] = block;
            _freedBlocks++;
            _freedTokens += tokens;
        };
    }

    public int BlockSize { get; }

    public int BlockCount { get; }

    /// <summary>Whether sequences may share blocks through the prefix cache (off when the model was loaded with a cache size of 0).</summary>
    public bool PrefixCacheEnabled { get; }

    /// <summary>
    /// The most cached blocks kept while no sequence holds them (the prefix cache size in blocks; see
    /// <see cref="KvPoolSize"/>): releasing beyond it evicts the least recently used at once.
    /// </summary>
    public int MaxIdleCachedBlocks { get; }

    /// <summary>KV bytes of one block over all layers and devices.</summary>
    public long BytesPerBlock { get; }

    /// <summary>Blocks no sequence holds: free ones and idle cached ones (which are evicted when a sequence needs them).</summary>
    public int FreeBlocks
    {
        get
        {
            lock (_sync)
            {
                return _freeCount + _tree.IdleBlocks;
            }
        }
    }

    public PrefixCacheStatistics Statistics
    {
        get
        {
            lock (_sync)
            {
                return new PrefixCacheStatistics(PrefixCacheEnabled, _tree.CachedBlocks, _tree.IdleBlocks, BlockSize, _tree.CachedTokens,
                    _tree.CachedBlocks * BytesPerBlock, _hits, _misses, _evictions);
            }
        }
    }

    /// <summary>Drops every cached block no sequence uses; returns what was freed (blocks, positions, bytes).</summary>
    public PrefixCacheStatistics Clear()
    {
        lock (_sync)
        {
            long blocks = _freedBlocks, tokens = _freedTokens;
            while (_tree.LeastRecentlyUsed is int block and >= 0)
            {
                _tree.Unregister(block, _onFreed);
            }

            Monitor.PulseAll(_sync);
            int freed = (int)(_freedBlocks - blocks);
            return new PrefixCacheStatistics(PrefixCacheEnabled, freed, freed, BlockSize, _freedTokens - tokens, freed * BytesPerBlock, 0, 0, 0);
        }
    }

    /// <summary>
    /// Starts a sequence with room for <paramref name="capacity"/> positions, waiting while other sequences hold the
    /// blocks. With <paramref name="useCache"/>, the longest cached prefix of <paramref name="prompt"/> (all but its
    /// last token, which must be computed for its logits) is shared; a prefix ending inside a block is served by
    /// copying that cached block (<see cref="KvSequence.CopySource"/>, which the engine copies and then releases).
    /// </summary>
    internal KvSequence Acquire(ReadOnlySpan<int> prompt, int capacity, bool useCache, CancellationToken cancellation)
    {
        int count = (capacity + BlockSize - 1) / BlockSize;
        if (count > BlockCount)
        {
            throw new HdxException("KvCacheTooSmall", HdxErrorKind.ResourceUnavailable,
                $"a sequence needs {count} KV blocks but the pool holds {BlockCount}");
        }

        useCache &= PrefixCacheEnabled;
        var blocks = new int[count];
        lock (_sync)
        {
            int cached, matched, copySource;
            while (true)
            {
                cached = useCache ? Match(prompt, blocks, out matched, out copySource) : Unmatched(out matched, out copySource);
                int held = 0;
                for (int i = 0; i < matched; i++)
                {
                    held += _tree.IsIdle(blocks[i]) ? 1 : 0;
                }

                held += copySource >= 0 && _tree.IsIdle(copySource) ? 1 : 0;
                if (_freeCount + _tree.IdleBlocks - held >= count - matched)
                {
                    break;
                }

                cancellation.ThrowIfCancellationRequested();
                Monitor.Wait(_sync, 50);
            }

            for (int i = 0; i < matched; i++)
            {
                Hold(blocks[i]);
            }

            if (copySource >= 0)
            {
                Hold(copySource);
            }

            for (int i = matched; i < count; i++)
            {
                blocks[i] = TakeFree();
            }

            if (useCache)
            {
                _hits += cached;
                _misses += prompt.Length - cached;
            }

            var sequence = new KvSequence(this, blocks, useCache ? new int[count * BlockSize] : null)
            {
                Length = cached,
                CachedTokens = cached,
                CopySource = copySource,
                RegisteredBlocks = matched,
                ChainBlock = matched > 0 ? blocks[matched - 1] : _tree.Root,
            };
            sequence.ChainGeneration = matched > 0 ? _tree.Generation(sequence.ChainBlock) : 0;
            prompt[..cached].CopyTo(sequence.Tokens.AsSpan());
            return sequence;
        }
    }

    /// <summary>Walks the tree along the prompt: whole cached blocks, then the cached block sharing most of the rest.</summary>
    private int Match(ReadOnlySpan<int> prompt, int[] blocks, out int matched, out int copySource)
    {
        int limit = Math.Min(prompt.Length - 1, (blocks.Length * BlockSize) - 1);
        int parent = _tree.Root;
        int position = 0;
        matched = 0;
        while (position + BlockSize <= limit)
        {
            int block = _tree.FindFull(parent, prompt.Slice(position, BlockSize));
            if (block < 0)
            {
                break;
            }

            blocks[matched++] = block;
            parent = block;
            position += BlockSize;
        }

        copySource = -1;
        int rest = Math.Min(BlockSize, limit - position);
        if (rest > 0)
        {
            int source = _tree.FindLongestPrefix(parent, prompt.Slice(position, rest), out int common);
            if (source >= 0)
            {
                copySource = source;
                position += common;
            }
        }

        return position;
    }

    private static int Unmatched(out int matched, out int copySource)
    {
        matched = 0;
        copySource = -1;
        return 0;
    }

    private void Hold(int block)
    {
        if (_referenceCounts[block]++ == 0)
        {
            _tree.RemoveIdle(block);
        }
    }

    private int TakeFree()
    {
        if (_freeCount == 0)
        {
            long before = _freedBlocks;
            _tree.Unregister(_tree.LeastRecentlyUsed, _onFreed);
            _evictions += _freedBlocks - before;
        }

        int block = _free[--_freeCount];
        _referenceCounts[block] = 1;
        return block;
    }

    /// <summary>Indexes the sequence's blocks that have become full since the last call, so other sequences can share them.</summary>
    internal void RegisterFull(KvSequence sequence)
    {
        if (sequence.Tokens is null)
        {
            return;
        }

        lock (_sync)
        {
            while ((sequence.RegisteredBlocks + 1) * BlockSize <= sequence.Length)
            {
                int index = sequence.RegisteredBlocks;
                if (!Register(sequence, index, sequence.Tokens.AsSpan(index * BlockSize, BlockSize)))
                {
                    return;
                }

                sequence.RegisteredBlocks++;
            }
        }
    }

    /// <summary>
    /// Registers block <paramref name="index"/> of the sequence under its chain unless an equal block is cached
    /// already (then the chain continues through that one). False when the chain's previous block has left the cache.
    /// </summary>
    private bool Register(KvSequence sequence, int index, ReadOnlySpan<int> tokens)
    {
        if (!_tree.IsLive(sequence.ChainBlock, sequence.ChainGeneration))
        {
            return false;
        }

        int block = _tree.FindFull(sequence.ChainBlock, tokens);
        if (block < 0)
        {
            block = sequence.Blocks[index];
            _tree.Register(block, sequence.ChainBlock, tokens);
        }

        sequence.ChainBlock = block;
        sequence.ChainGeneration = _tree.Generation(block);
        return true;
    }

    /// <summary>
    /// Ends a sequence: its partly filled last block is cached too (a chat's next turn continues from it), then every
    /// block is released, last first, so a chain's first blocks are the most recently used and evicted last.
    /// </summary>
    internal void Release(KvSequence sequence, int[] blocks)
    {
        lock (_sync)
        {
            int filled = sequence.Length % BlockSize;
            if (sequence.Tokens is not null && filled > 0 && sequence.RegisteredBlocks == sequence.Length / BlockSize
                && _tree.IsLive(sequence.ChainBlock, sequence.ChainGeneration))
            {
                var tokens = sequence.Tokens.AsSpan(sequence.Length - filled, filled);
                _tree.FindLongestPrefix(sequence.ChainBlock, tokens, out int common);
                if (common < filled)
                {
                    _tree.Register(blocks[sequence.RegisteredBlocks], sequence.ChainBlock, tokens);
                }
            }

            for (int i = blocks.Length - 1; i >= 0; i--)
            {
                ReleaseLocked(blocks[i]);
            }

            Monitor.PulseAll(_sync);
        }
    }

    /// <summary>Drops the reference a sequence took on the block it copied its partial prefix from.</summary>
    internal void Release(int block)
    {
        lock (_sync)
        {
            ReleaseLocked(block);
            Monitor.PulseAll(_sync);
        }
    }

    private void ReleaseLocked(int block)
    {
        if (--_referenceCounts[block] > 0)
        {
            return;
        }

        if (_tree.IsCached(block))
        {
            _tree.AddIdle(block);
            while (_tree.IdleBlocks > MaxIdleCachedBlocks && _tree.LeastRecentlyUsed is int oldest and >= 0)
            {
                long before = _freedBlocks;
                _tree.Unregister(oldest, _onFreed);
                _evictions += _freedBlocks - before;
            }
        }
        else
        {
            _free[_freeCount++] = block;
        }
    }
}
