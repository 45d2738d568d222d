using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// One layer's keys and values on one device, for every block of the pool. Layout [block][kvHead][slot][headDim], so
/// one head's positions within a block are contiguous for attention. The memory is native and huge-page backed
/// (<see cref="HugePageMemory"/>), owned here and freed with the device; ops reach it only inside engine steps, which
/// the engine's dispose waits out.
/// </summary>
internal sealed unsafe class KvLayerStorage : IDisposable
{
    private readonly HugePageMemory _keys;
    private readonly HugePageMemory _values;

    /// <param name="blockCount">Blocks of the pool; the binder keeps blockCount · blockSize · kvHeads · headDim within
    /// <see cref="Array.MaxLength"/>, so every <see cref="Offset"/> fits an int.</param>
    public KvLayerStorage(int blockCount, int blockSize, int kvHeads, int headDim)
    {
        BlockSize = blockSize;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Length = (long)blockCount * blockSize * kvHeads * headDim;
        _keys = Allocate(Length);
        try
        {
            _values = Allocate(Length);
        }
        catch
        {
            _keys.Dispose();
            throw;
        }
    }

    private static HugePageMemory Allocate(long floats)
    {
        try
        {
            return new HugePageMemory(floats * sizeof(float));
        }
        catch (OutOfMemoryException)
        {
            throw new HdxException("KvCacheTooLarge", HdxErrorKind.ResourceUnavailable, $"could not allocate {floats * sizeof(float)} bytes for a layer's KV cache",
                floats, "Compile the model with a smaller -MaxLength, or load it with fewer sequences (KvSequences) or a smaller -PrefixCacheSize.");
        }
    }

    public int BlockSize { get; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    /// <summary>Floats in each of <see cref="Keys"/> and <see cref="Values"/>.</summary>
    public long Length { get; }

    public float* Keys => (float*)_keys.Pointer;

    public float* Values => (float*)_values.Pointer;

    /// <summary>Makes the keys and values resident now (<see cref="HugePageMemory.TryCommit"/>); their contents are unchanged.</summary>
    public void Commit()
    {
        int error = _keys.TryCommit();
        if (error == 0)
        {
            error = _values.TryCommit();
        }

        if (error != 0)
        {
            throw new HdxException("KvCacheTooLarge", HdxErrorKind.ResourceUnavailable,
                $"could not make a layer's KV cache ({2 * Length * sizeof(float)} bytes) resident: the kernel refused with errno {error}",
                Length, "Free memory, lower $HdxPrefixCacheSize (or -PrefixCacheSize where the model is loaded), or compile the model with a smaller -MaxLength.");
        }
    }

    /// <summary>Copies every position of block <paramref name="source"/> into block <paramref name="target"/>.</summary>
    public void CopyBlock(int source, int target)
    {
        long bytes = (long)KvHeads * BlockSize * HeadDim * sizeof(float);
        Buffer.MemoryCopy(Keys + Offset(source, 0, 0), Keys + Offset(target, 0, 0), bytes, bytes);
        Buffer.MemoryCopy(Values + Offset(source, 0, 0), Values + Offset(target, 0, 0), bytes, bytes);
    }

    /// <summary>Index of the first element of (block, kvHead, slot).</summary>
    public int Offset(int block, int kvHead, int slot) => ((block * KvHeads + kvHead) * BlockSize + slot) * HeadDim;

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
