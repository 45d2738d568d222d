namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.KvWrite"/>: stores each row's k and v in the layer's cache at the row's position,
/// through its sequence's block table.
/// </summary>
internal sealed unsafe class KvWriteOp(ActivationBuffer k, ActivationBuffer v, KvLayerStorage cache) : BoundOp
{
    public override void Execute(DeviceState device, StepContext step)
    {
        int headDim = cache.HeadDim;
        int kvWidth = cache.KvHeads * headDim;
        for (int t = 0; t < step.Rows; t++)
        {
            int position = step.Positions[t];
            ReadOnlySpan<float> keys = k.Row(t)[..kvWidth];
            ReadOnlySpan<float> values = v.Row(t)[..kvWidth];
            int block = step.BlockTables[t][position / cache.BlockSize];
            int slot = position % cache.BlockSize;
            for (int head = 0; head < cache.KvHeads; head++)
            {
                int offset = cache.Offset(block, head, slot);
                keys.Slice(head * headDim, headDim).CopyTo(new Span<float>(cache.Keys + offset, headDim));
                values.Slice(head * headDim, headDim).CopyTo(new Span<float>(cache.Values + offset, headDim));
            }
        }
    }
}
