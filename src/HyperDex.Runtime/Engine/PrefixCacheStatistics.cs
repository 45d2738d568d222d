namespace HyperDex.Runtime.Engine;

/// <summary>
/// A snapshot of a model's prefix cache. Hits and Misses count prompt tokens (served from the cache / computed) over
/// the generations that used the cache; Evictions counts blocks dropped to make room.
/// </summary>
public sealed record PrefixCacheStatistics(bool Enabled, int Blocks, int IdleBlocks, int BlockSize, long CachedTokens, long Bytes,
    long Hits, long Misses, long Evictions)
{
    /// <summary>Hits over all prompt tokens looked up; 0 before any lookup.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
