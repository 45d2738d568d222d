namespace HyperDex.Runtime.Engine;

/// <summary>
/// One layer's keys and values on one device, for every block of the pool. Layout [block][kvHead][slot][headDim], so
/// one head's positions within a block are contiguous for attention.
/// </summary>
internal sealed class KvLayerStorage
{
    public KvLayerStorage(int blockCount, int blockSize, int kvHeads, int headDim)
    {
        BlockSize = blockSize;
        KvHeads = kvHeads;
        HeadDim = headDim;
        long length = (long)blockCount * blockSize * kvHeads * headDim;
        Keys = new float[length];
        Values = new float[length];
    }

    public int BlockSize { get; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public float[] Keys { get; }

    public float[] Values { get; }

    /// <summary>Copies every position of block <paramref name="source"/> into block <paramref name="target"/>.</summary>
    public void CopyBlock(int source, int target)
    {
        int length = KvHeads * BlockSize * HeadDim;
        Array.Copy(Keys, Offset(source, 0, 0), Keys, Offset(target, 0, 0), length);
        Array.Copy(Values, Offset(source, 0, 0), Values, Offset(target, 0, 0), length);
    }

    /// <summary>Index of the first element of (block, kvHead, slot).</summary>
    public int Offset(int block, int kvHead, int slot) => ((block * KvHeads + kvHead) * BlockSize + slot) * HeadDim;
}
