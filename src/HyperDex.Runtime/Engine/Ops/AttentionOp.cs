using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Attention"/>: causal grouped-query attention of each (row, head) over the cached
/// positions 0..its own, block by block through the block table. Work items are (row, KV head), split across
/// workers: the query heads that share a KV head go through each cached block together while it is in L1, so a step
/// reads the cache once, not once per query head.
/// Prefill steps of several rows go through <see cref="TiledAttention"/> instead (matrix-matrix tiles per head), unless
/// the layer has a sliding window or soft-capped scores, or the rows belong to several sequences.
/// A sliding window of W keeps the positions p − W &lt; q ≤ p (HF's sliding mask); soft-capping maps each scaled score s
/// to tanh(s / c) · c before the softmax (Gemma 2).
/// </summary>
internal sealed class AttentionOp : BoundOp
{
    private readonly Job _job;
    private readonly TiledAttention _tiled;

    private readonly bool _plainCausal;

    public AttentionOp(ActivationBuffer q, ActivationBuffer output, int heads, float scale, int window, float softcap, KvLayerStorage cache,
        int maxLength, int workers)
    {
        _job = new Job(q, output, heads, scale, window, softcap, cache, maxLength, workers);
        _tiled = new TiledAttention(q, output, heads, scale, cache);
        _plainCausal = window == 0 && softcap == 0;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        if (step.Rows >= TiledAttention.MinRows && _plainCausal && step.SingleSequence && _tiled.Supports && MatVecKernels.IsSupported)
        {
            _tiled.Step = step;
            device.Pool.Run(_tiled, _job.Heads);
            _tiled.Step = null;
            return;
        }

        _job.Step = step;
        // Each (row, KV head) costs about 4 · positions · headDim · group flops; tiny steps run inline rather than wake helpers.
        long work = 4L * (step.Positions[step.Rows - 1] + 1) * _job.HeadDim * _job.Group;
        device.Pool.Run(_job, step.Rows * _job.KvHeads, (int)Math.Max(1, ComputePool.MinWorkPerWorker / work));
        _job.Step = null;
    }

    private sealed class Job : ParallelJob
    {
        private readonly ActivationBuffer _q;
        private readonly ActivationBuffer _output;
        private readonly float _scale;
        private readonly int _window;
        private readonly float _softcap;
        private readonly KvLayerStorage _cache;
        private readonly int _group;
        private readonly int _workers;
        private readonly int _maxLength;

        public Job(ActivationBuffer q, ActivationBuffer output, int heads, float scale, int window, float softcap, KvLayerStorage cache,
            int maxLength, int workers)
        {
            _q = q;
            _output = output;
            Heads = heads;
            _scale = scale;
            _window = window;
            _softcap = softcap;
            _cache = cache;
            _group = heads / cache.KvHeads;
            _workers = workers;
            _maxLength = maxLength;
        }

        /// <summary>
        /// Scores of every head a worker attends at once (heads × max length), per thread rather than per op: the
        /// layers run one after another, so one buffer serves them all.
        /// </summary>
        [ThreadStatic]
        private static float[]? t_headScores;

        public int Heads { get; }

        public int KvHeads => _cache.KvHeads;

        /// <summary>Query heads per KV head.</summary>
        public int Group => _group;

        public int HeadDim => _cache.HeadDim;

        public StepContext? Step { get; set; }

        /// <summary>A worker's share of a row's KV heads in one piece, so its walk over each block is one run.</summary>
        public override int Granularity => Math.Max(1, KvHeads / _workers);

        public override void Execute(int start, int end, int worker)
        {
            if (AttentionKernels.Supports(_cache.HeadDim))
            {
                ExecuteVectorized(start, end);
                return;
            }

            ExecutePortable(start, end);
        }

        /// <summary>The calling thread's score buffer, room for every head at the longest length.</summary>
        private float[] Scratch()
        {
            if (t_headScores is null || t_headScores.Length < Heads * _maxLength)
            {
                t_headScores = new float[Heads * _maxLength];
            }

            return t_headScores;
        }

        /// <summary>The first position row <paramref name="t"/> attends: 0, or the start of its sliding window.</summary>
        private int FirstPosition(StepContext step, int t) => _window > 0 ? Math.Max(0, step.Positions[t] - _window + 1) : 0;

        /// <summary>
        /// Soft-capping, then scores → probabilities in place; <paramref name="masked"/> leading scores (before the
        /// window, computed only because they share its first block) get probability 0.
        /// </summary>
        private void Softmax(Span<float> scores, int masked)
        {
            if (_softcap > 0)
            {
                TensorPrimitives.Multiply(scores, 1 / _softcap, scores);
                TensorPrimitives.Tanh(scores, scores);
                TensorPrimitives.Multiply(scores, _softcap, scores);
            }

            scores[..masked].Fill(float.NegativeInfinity);
            Softmax(scores);
        }

        /// <summary>Scores → probabilities, in place.</summary>
        private static void Softmax(Span<float> scores)
        {
            float max = TensorPrimitives.Max(scores);
            TensorPrimitives.Subtract(scores, max, scores);
            TensorPrimitives.Exp(scores, scores);
            TensorPrimitives.Multiply(scores, 1f / TensorPrimitives.Sum(scores), scores);
        }

        /// <summary>
        /// The same computation through <see cref="AttentionKernels"/>: for each row, the worker's run of KV heads is
        /// walked block by block, so it reads each cached block's heads as one contiguous run (a KV head's share of a
        /// block alone is only a few KB), and the query heads of a group use it while it is in L1.
        /// </summary>
        private void ExecuteVectorized(int start, int end)
        {
            for (int index = start; index < end;)
            {
                int t = index / KvHeads;
                int first = index % KvHeads;
                int last = Math.Min(KvHeads, first + (end - index));
                AttendRow(t, first, last);
                index += last - first;
            }
        }

        /// <summary>Row <paramref name="t"/>'s query heads of KV heads [first, last).</summary>
        private unsafe void AttendRow(int t, int first, int last)
        {
            StepContext step = Step!;
            int headDim = _cache.HeadDim;
            int blockSize = _cache.BlockSize;
            int[] blockTable = step.BlockTables[t];
            int length = step.Positions[t] + 1;
            int lowest = FirstPosition(step, t);
            int from = lowest / blockSize * blockSize;
            int heads = (last - first) * _group;
            float* keys = _cache.Keys;
            float* values = _cache.Values;
            fixed (float* scores = Scratch())
            fixed (float* q = _q.Data)
            fixed (float* o = _output.Data)
            {
                float* query = q + t * (long)_q.Width + first * _group * headDim;
                float* output = o + t * (long)_output.Width + first * _group * headDim;
                for (int position = from; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    float* block = keys + _cache.Offset(blockTable[position / blockSize], first, 0);
                    for (int h = 0; h < heads; h++)
                    {
                        AttentionKernels.Scores(query + h * headDim, block + h / _group * (long)blockSize * headDim, count, headDim, _scale, scores + h * length + position);
                    }
                }

                for (int h = 0; h < heads; h++)
                {
                    Softmax(new Span<float>(scores + h * length + from, length - from), lowest - from);
                }

                new Span<float>(output, heads * headDim).Clear();
                for (int position = from; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    float* block = values + _cache.Offset(blockTable[position / blockSize], first, 0);
                    for (int h = 0; h < heads; h++)
                    {
                        AttentionKernels.Accumulate(scores + h * length + position, block + h / _group * (long)blockSize * headDim, count, headDim, output + h * headDim);
                    }
                }
            }
        }

        private unsafe void ExecutePortable(int start, int end)
        {
            StepContext step = Step!;
            int headDim = _cache.HeadDim;
            int blockSize = _cache.BlockSize;
            float* keys = _cache.Keys;
            float* values = _cache.Values;
            for (int item = start * _group; item < end * _group; item++)
            {
                int t = item / Heads;
                int head = item % Heads;
                int kvHead = head / _group;
                int[] blockTable = step.BlockTables[t];
                int length = step.Positions[t] + 1;
                int lowest = FirstPosition(step, t);
                int from = lowest / blockSize * blockSize;
                ReadOnlySpan<float> query = _q.Row(t).Slice(head * headDim, headDim);
                Span<float> scores = Scratch().AsSpan(0, length);

                for (int position = from; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    int offset = _cache.Offset(blockTable[position / blockSize], kvHead, 0);
                    for (int slot = 0; slot < count; slot++)
                    {
                        scores[position + slot] = TensorPrimitives.Dot(query, new ReadOnlySpan<float>(keys + offset + (slot * headDim), headDim)) * _scale;
                    }
                }

                Softmax(scores[from..], lowest - from);
                Span<float> output = _output.Row(t).Slice(head * headDim, headDim);
                output.Clear();
                for (int position = from; position < length; position += blockSize)
                {
                    int count = Math.Min(blockSize, length - position);
                    int offset = _cache.Offset(blockTable[position / blockSize], kvHead, 0);
                    for (int slot = 0; slot < count; slot++)
                    {
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(values + offset + (slot * headDim), headDim), scores[position + slot], output, output);
                    }
                }
            }
        }
    }
}
