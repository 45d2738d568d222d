using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// How many KV blocks an engine allocates and how many idle ones its prefix cache may keep, computed in checked
/// 64-bit arithmetic before anything is allocated: a tampered program (a block size of 2^30, a MaxLength of
/// 2^31 − 2) or a huge <c>-PrefixCacheSize</c> must fail with an ErrorId, not overflow or exhaust memory.
/// </summary>
/// <remarks>
/// The pool holds <see cref="HostEngineOptions.KvSequences"/> MaxLength sequences plus the prefix cache's own room.
/// <c>-PrefixCacheSize</c> means what it reads as: the most KV bytes idle cached prefixes may occupy. Blocks a
/// running sequence holds are counted as the sequence's, never as the cache's, so a size of 8 MB keeps at most
/// 8 MB of cached prefixes however much room the running sequences leave free.
/// </remarks>
internal readonly record struct KvPoolSize(int BlockCount, long BytesPerBlock, int MaxIdleCachedBlocks)
{
    public static KvPoolSize For(IReadOnlyList<DeviceProgram> programs, HostEngineOptions options)
    {
        DeviceProgram first = programs[0];
        try
        {
            checked
            {
                long blocksPerSequence = ((long)first.MaxLength + first.KvBlockSize - 1) / first.KvBlockSize;
                long bytesPerBlock = 0;
                long widestLayer = 0;
                foreach (var program in programs)
                {
                    foreach (var cache in program.KvCaches)
                    {
                        long layer = (long)first.KvBlockSize * cache.KvHeads * cache.HeadDim;
                        widestLayer = Math.Max(widestLayer, layer);
                        bytesPerBlock += 2 * layer * sizeof(float);
                    }
                }

                long cacheBlocks = options.PrefixCacheBytes is long cacheBytes && bytesPerBlock > 0 ? (cacheBytes + bytesPerBlock - 1) / bytesPerBlock : 0;
                long sequenceBlocks = blocksPerSequence * Math.Max(1, options.KvSequences);
                long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
                if (sequenceBlocks * bytesPerBlock > available || sequenceBlocks * widestLayer > Array.MaxLength)
                {
                    throw new HdxException("KvCacheTooLarge", HdxErrorKind.ResourceUnavailable,
                        $"the KV cache for {Math.Max(1, options.KvSequences)} sequence(s) of {first.MaxLength} positions needs {sequenceBlocks * bytesPerBlock} bytes; this process may use {available}",
                        first.MaxLength, "Compile the model with a smaller -MaxLength, or check that the compiled model is intact (Test-HdxModel).");
                }

                long total = sequenceBlocks + cacheBlocks;
                if (total * bytesPerBlock > available || total * widestLayer > Array.MaxLength || total > int.MaxValue)
                {
                    throw TooLarge(options.PrefixCacheBytes ?? 0, available - (sequenceBlocks * bytesPerBlock));
                }

                int idle = options.PrefixCacheBytes is null ? int.MaxValue : (int)cacheBlocks;
                return new KvPoolSize((int)total, bytesPerBlock, idle);
            }
        }
        catch (OverflowException)
        {
            throw TooLarge(options.PrefixCacheBytes ?? 0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        }
    }

    public KvBlockPool CreatePool(int blockSize, bool prefixCache) => new(blockSize, BlockCount, prefixCache, BytesPerBlock, MaxIdleCachedBlocks);

    private static HdxException TooLarge(long requested, long room) =>
        new("PrefixCacheTooLarge", HdxErrorKind.InvalidArgument,
            $"a prefix cache of {requested} bytes does not fit beside the running sequences' KV cache (at most {Math.Max(0, room)} bytes are left)",
            requested, "Pass a smaller -PrefixCacheSize (or $HdxPrefixCacheSize), e.g. 256MB.");
}
