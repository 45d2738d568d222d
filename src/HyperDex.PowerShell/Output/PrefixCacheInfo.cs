namespace HyperDex;

/// <summary>The prefix cache of one loaded model, written by Get-HdxPrefixCache.</summary>
public sealed class PrefixCacheInfo
{
    internal PrefixCacheInfo(string model, int numDevice, bool enabled, int blocks, int idleBlocks, int blockSize, long cachedTokens, long bytes,
        long hits, long misses, double hitRate, long evictions)
    {
        Model = model;
        NumDevice = numDevice;
        Enabled = enabled;
        Blocks = blocks;
        IdleBlocks = idleBlocks;
        BlockSize = blockSize;
        CachedTokens = cachedTokens;
        Bytes = bytes;
        Hits = hits;
        Misses = misses;
        HitRate = hitRate;
        Evictions = evictions;
    }

    /// <summary>The compiled model folder.</summary>
    public string Model { get; }

    public int NumDevice { get; }

    /// <summary>False when the model was loaded with -PrefixCacheSize 0.</summary>
    public bool Enabled { get; }

    /// <summary>KV blocks the cache indexes (in use by a generation or idle).</summary>
    public int Blocks { get; }

    /// <summary>Cached blocks no generation uses: what Clear-HdxPrefixCache would drop.</summary>
    public int IdleBlocks { get; }

    /// <summary>Positions per KV block.</summary>
    public int BlockSize { get; }

    /// <summary>Token positions whose keys and values the cache holds.</summary>
    public long CachedTokens { get; }

    /// <summary>KV memory of the cached blocks, all layers and devices.</summary>
    public long Bytes { get; }

    /// <summary>Prompt tokens served from the cache since the model was loaded.</summary>
    public long Hits { get; }

    /// <summary>Prompt tokens computed because the cache did not hold them.</summary>
    public long Misses { get; }

    /// <summary>Hits / (Hits + Misses); 0 before any generation.</summary>
    public double HitRate { get; }

    /// <summary>Cached blocks dropped to make room for new sequences.</summary>
    public long Evictions { get; }
}
