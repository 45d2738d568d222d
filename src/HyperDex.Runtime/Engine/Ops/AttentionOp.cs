using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Attention"/>: causal grouped-query attention of each (row, head) over the cached
/// positions 0..its own, block by block through the block table; (row, head) pairs are split across workers.
/// Prefill steps of several rows go through <see cref="TiledAttention"/> instead (matrix-matrix tiles per head).
/// </summary>
internal sealed class AttentionOp : BoundOp
{
    private readonly Job _job;
    private readonly TiledAttention _tiled;

    public AttentionOp(ActivationBuffer q, ActivationBuffer output, int heads, float scale, KvLayerStorage cache, int maxLength, int workers)
    {
        _job = new Job(q, output, heads, scale, cache, maxLength, workers);
        _tiled = new TiledAttention(q, output, heads, scale, cache);
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        if (step.Rows >= TiledAttention.MinRows && _tiled.Supports && MatVecKernels.IsSupported)
        {
            _tiled.Step = step;
            device.Pool.Run(_tiled, _job.Heads);
            _tiled.Step = null;
            return;
        }

        _job.Step = step;
        // Each (row, head) costs about 4 · positions · headDim flops; tiny steps run inline rather than wake helpers.
        int work = 4 * (step.Start + step.Rows) * _job.HeadDim;
        device.Pool.Run(_job, step.Rows * _job.Heads, Math.Max(1, ComputePool.MinWorkPerWorker / work));
        _job.Step = null;
    }

    private sealed class Job : ParallelJob
    {
        private readonly ActivationBuffer _q;
        private readonly ActivationBuffer _output;
        private readonly float _scale;
        private readonly KvLayerStorage _cache;
        private readonly int _group;
        private readonly float[][] _scores;

        public Job(ActivationBuffer q, ActivationBuffer output, int heads, float scale, KvLayerStorage cache, int maxLength, int workers)
        {
            _q = q;
            _output = output;
            Heads = heads;
            _scale = scale;
            _cache = cache;
            _group = heads / cache.KvHeads;
            _scores = new float[workers][];
            for (int w = 0; w < workers; w++)
            {
                _scores[w] = new float[maxLength];
            }
        }

        public int Heads { get; }

        public int HeadDim => _cache.HeadDim;

        public StepContext? Step { get; set; }

        public override void Execute(int start, int end, int worker)
        {
            if (AttentionKernels.Supports(_cache.HeadDim))
            {
                ExecuteVectorized(start, end, worker);
                return;
            }

            ExecutePortable(start, end, worker);
        }

        /// <summary>The same computation, block by block through <see cref="AttentionKernels"/>.</summary>
        private unsafe void ExecuteVectorized(int start, int end, int worker)
        {
            StepContext step = Step!;
            int headDim = _cache.HeadDim;
            int blockSize = _cache.BlockSize;
            fixed (float* keys = _cache.Keys)
            fixed (float* values = _cache.Values)
            fixed (float* scores = _scores[worker])
            fixed (float* q = _q.Data)
            fixed (float* o = _output.Data)
            {
                for (int index = start; index < end; index++)
                {
                    int t = index / Heads;
                    int head = index % Heads;
                    int kvHead = head / _group;
                    int length = step.Start + t + 1;
                    float* query = q + t * (long)_q.Width + head * headDim;
                    for (int position = 0; position < length; position += blockSize)
                    {
                        int offset = _cache.Offset(step.BlockTable[position / blockSize], kvHead, 0);
                        AttentionKernels.Scores(query, keys + offset, Math.Min(blockSize, length - position), headDim, _scale, scores + position);
                    }

                    var span = new Span<float>(scores, length);
                    float max = TensorPrimitives.Max(span);
                    TensorPrimitives.Subtract(span, max, span);
                    TensorPrimitives.Exp(span, span);
                    TensorPrimitives.Multiply(span, 1f / TensorPrimitives.Sum(span), span);

                    float* output = o + t * (long)_output.Width + head * headDim;
                    new Span<float>(output, headDim).Clear();
                    for (int position = 0; position < length; position += blockSize)
                    {
                        int offset = _cache.Offset(step.BlockTable[position / blockSize], kvHead, 0);
                        AttentionKernels.Accumulate(scores + position, values + offset, Math.Min(blockSize, length - position), headDim, output);
                    }
                }
            }
        }

        private void ExecutePortable(int start, int end, int worker)
        {
            StepContext step = Step!;
            int headDim = _cache.HeadDim;
            int blockSize = _cache.BlockSize;
            float[] keys = _cache.Keys;
            float[] values = _cache.Values;
            for (int index = start; index < end; index++)
            {
                int t = index / Heads;
                int head = index % Heads;
                int kvHead = head / _group;
                int length = step.Start + t + 1;
                ReadOnlySpan<float> query = _q.Row(t).Slice(head * headDim, headDim);
                Span<float> scores = _scores[worker].AsSpan(0, length);

                for (int position = 0; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    int offset = _cache.Offset(step.BlockTable[position / blockSize], kvHead, 0);
                    for (int slot = 0; slot < count; slot++)
                    {
                        scores[position + slot] = TensorPrimitives.Dot(query, keys.AsSpan(offset + slot * headDim, headDim)) * _scale;
                    }
                }

                float max = TensorPrimitives.Max(scores);
                TensorPrimitives.Subtract(scores, max, scores);
                TensorPrimitives.Exp(scores, scores);
                float inverseSum = 1f / TensorPrimitives.Sum(scores);

                Span<float> output = _output.Row(t).Slice(head * headDim, headDim);
                output.Clear();
                for (int position = 0; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    int offset = _cache.Offset(step.BlockTable[position / blockSize], kvHead, 0);
                    for (int slot = 0; slot < count; slot++)
                    {
                        TensorPrimitives.MultiplyAdd(values.AsSpan(offset + slot * headDim, headDim), scores[position + slot] * inverseSum, output, output);
                    }
                }
            }
        }
    }
}
