namespace HyperDex.Runtime.Engine;

/// <summary>
/// The prefix cache's index over KV blocks: a tree whose nodes are cached blocks, each holding the token ids of its
/// positions (a full block, or the partial last block of a finished sequence) under the block that precedes it, so a
/// path from the root spells a token prefix. Lookups walk it one block at a time (exact compare of a block's ids among
/// the children of the previous block: no hashing, so no collision can ever serve wrong keys and values). Idle cached
/// blocks (no sequence references them) sit in an LRU list. Everything is in arrays indexed by block id, so lookups
/// and registration allocate nothing. Not thread-safe: <see cref="KvBlockPool"/> calls it under its lock.
/// </summary>
internal sealed class PrefixTree
{
    private readonly int _blockSize;
    private readonly int _root;
    private readonly int _lruSentinel;
    private readonly int[] _tokens;
    private readonly int[] _filled;
    private readonly int[] _generation;
    private readonly int[] _parent;
    private readonly int[] _firstChild;
    private readonly int[] _nextSibling;
    private readonly int[] _previousSibling;
    private readonly int[] _lruNext;
    private readonly int[] _lruPrevious;
    private readonly bool[] _idle;

    public PrefixTree(int blockSize, int blockCount)
    {
        _blockSize = blockSize;
        _root = blockCount;
        _lruSentinel = blockCount + 1;
        _tokens = new int[(long)blockCount * blockSize];
        _filled = new int[blockCount];
        _generation = new int[blockCount];
        _parent = new int[blockCount];
        _firstChild = new int[blockCount + 1];
        _nextSibling = new int[blockCount];
        _previousSibling = new int[blockCount];
        _lruNext = new int[blockCount + 2];
        _lruPrevious = new int[blockCount + 2];
        _idle = new bool[blockCount];
        _firstChild.AsSpan().Fill(-1);
        _lruNext[_lruSentinel] = _lruPrevious[_lruSentinel] = _lruSentinel;
    }

    /// <summary>The parent id that stands for "no block before": the start of a sequence.</summary>
    public int Root => _root;

    public int CachedBlocks { get; private set; }

    public long CachedTokens { get; private set; }

    public int IdleBlocks { get; private set; }

    public bool IsCached(int block) => _filled[block] > 0;

    public bool IsFull(int block) => _filled[block] == _blockSize;

    /// <summary>Bumped each time a block is registered, so a holder of (block, generation) can tell it still names the same node.</summary>
    public int Generation(int block) => _generation[block];

    /// <summary>Whether (block, generation) is still the cached full block it was (or the root).</summary>
    public bool IsLive(int block, int generation) => block == _root || (IsFull(block) && _generation[block] == generation);

    /// <summary>The cached full block under <paramref name="parent"/> holding exactly <paramref name="tokens"/>, or -1.</summary>
    public int FindFull(int parent, ReadOnlySpan<int> tokens)
    {
        for (int child = _firstChild[parent]; child >= 0; child = _nextSibling[child])
        {
            if (IsFull(child) && Tokens(child).SequenceEqual(tokens))
            {
                return child;
            }
        }

        return -1;
    }

    /// <summary>The cached block under <paramref name="parent"/> sharing the longest run of leading ids with <paramref name="tokens"/>.</summary>
    public int FindLongestPrefix(int parent, ReadOnlySpan<int> tokens, out int length)
    {
        int best = -1;
        length = 0;
        for (int child = _firstChild[parent]; child >= 0; child = _nextSibling[child])
        {
            int common = Tokens(child).CommonPrefixLength(tokens);
            if (common > length)
            {
                best = child;
                length = common;
            }
        }

        return best;
    }

    /// <summary>Records that <paramref name="block"/> (in use, not cached) holds <paramref name="tokens"/> after <paramref name="parent"/>.</summary>
    public void Register(int block, int parent, ReadOnlySpan<int> tokens)
    {
        tokens.CopyTo(_tokens.AsSpan(block * _blockSize, _blockSize));
        _filled[block] = tokens.Length;
        _generation[block]++;
        _parent[block] = parent;
        _previousSibling[block] = -1;
        _nextSibling[block] = _firstChild[parent];
        if (_firstChild[parent] >= 0)
        {
            _previousSibling[_firstChild[parent]] = block;
        }

        _firstChild[parent] = block;
        CachedBlocks++;
        CachedTokens += tokens.Length;
    }

    /// <summary>
    /// Removes <paramref name="block"/> and everything cached after it (unreachable without it). Blocks that were idle
    /// are passed to <paramref name="freed"/> with the number of positions they held; blocks still in use merely stop
    /// being cached.
    /// </summary>
    public void Unregister(int block, Action<int, int> freed)
    {
        while (_firstChild[block] >= 0)
        {
            Unregister(_firstChild[block], freed);
        }

        int parent = _parent[block];
        if (_previousSibling[block] >= 0)
        {
            _nextSibling[_previousSibling[block]] = _nextSibling[block];
        }
        else
        {
            _firstChild[parent] = _nextSibling[block];
        }

        if (_nextSibling[block] >= 0)
        {
            _previousSibling[_nextSibling[block]] = _previousSibling[block];
        }

        int filled = _filled[block];
        CachedBlocks--;
        CachedTokens -= filled;
        _filled[block] = 0;
        if (_idle[block])
        {
            RemoveIdle(block);
            freed(block, filled);
        }
    }

    /// <summary>Puts a cached block nobody uses at the most recently used end.</summary>
    public void AddIdle(int block)
    {
        int last = _lruPrevious[_lruSentinel];
        _lruNext[last] = block;
        _lruPrevious[block] = last;
        _lruNext[block] = _lruSentinel;
        _lruPrevious[_lruSentinel] = block;
        _idle[block] = true;
        IdleBlocks++;
    }

    /// <summary>Takes a cached block out of the idle list (it is in use again, or leaving the cache).</summary>
    public void RemoveIdle(int block)
    {
        _lruNext[_lruPrevious[block]] = _lruNext[block];
        _lruPrevious[_lruNext[block]] = _lruPrevious[block];
        _idle[block] = false;
        IdleBlocks--;
    }

    public bool IsIdle(int block) => _idle[block];

    /// <summary>The least recently used idle block, or -1.</summary>
    public int LeastRecentlyUsed => _lruNext[_lruSentinel] == _lruSentinel ? -1 : _lruNext[_lruSentinel];

    private ReadOnlySpan<int> Tokens(int block) => _tokens.AsSpan(block * _blockSize, _filled[block]);
}
