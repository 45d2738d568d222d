using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.RotaryKvWrite"/>: rotates q and k of each row at its position, then stores k and v in
/// the layer's cache at that position through the sequence's block table. Rows run in parallel.
/// </summary>
internal sealed class RotaryKvWriteOp : BoundOp
{
    private readonly Job _job;

    public RotaryKvWriteOp(ActivationBuffer q, ActivationBuffer k, ActivationBuffer v, int heads, RotaryTable rotary, KvLayerStorage cache)
    {
        _job = new Job(q, k, v, heads, rotary, cache);
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        _job.Step = step;
        device.Pool.Run(_job, step.Rows, minPerWorker: 16);
        _job.Step = null;
    }

    private sealed class Job(ActivationBuffer q, ActivationBuffer k, ActivationBuffer v, int heads, RotaryTable rotary, KvLayerStorage cache)
        : ParallelJob
    {
        public StepContext? Step { get; set; }

        public override void Execute(int start, int end, int worker)
        {
            StepContext step = Step!;
            int headDim = cache.HeadDim;
            int kvWidth = cache.KvHeads * headDim;
            for (int t = start; t < end; t++)
            {
                int position = step.Start + t;
                Span<float> keys = k.Row(t)[..kvWidth];
                rotary.Apply(q.Row(t)[..(heads * headDim)], position);
                rotary.Apply(keys, position);
                ReadOnlySpan<float> values = v.Row(t)[..kvWidth];
                int block = step.BlockTable[position / cache.BlockSize];
                int slot = position % cache.BlockSize;
                for (int head = 0; head < cache.KvHeads; head++)
                {
                    int offset = cache.Offset(block, head, slot);
                    keys.Slice(head * headDim, headDim).CopyTo(cache.Keys.AsSpan(offset, headDim));
                    values.Slice(head * headDim, headDim).CopyTo(cache.Values.AsSpan(offset, headDim));
                }
            }
        }
    }
}
