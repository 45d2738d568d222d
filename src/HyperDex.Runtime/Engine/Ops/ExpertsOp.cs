using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Experts"/>: a mixture-of-experts MLP (Mixtral, Qwen3-MoE). The router (replicated) scores
/// every expert per row; softmax in fp32, the top k kept (renormalised when normTopK), then each expert runs once over
/// the rows routed to it, gathered into one block so its weights are read once per step, and its weighted output is
/// scattered into this device's all-reduce partial. Each device holds every expert's slice of the intermediate
/// dimension (Megatron split per expert), so the partials join in one all-reduce like a dense MLP's.
/// </summary>
internal sealed unsafe class ExpertsOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly ActivationBuffer _output;
    private readonly ActivationBuffer _reduced;
    private readonly AllReduceGroup _group;
    private readonly ProjectionJob _router;
    private readonly ActivationBuffer _routerLogits;
    private readonly Expert[] _experts;
    private readonly int _topK;
    private readonly bool _normTopK;
    private readonly bool _accumulate;
    private readonly ActivationKind _activation;
    private readonly ActivationBuffer _gathered;
    private readonly ActivationBuffer _gate;
    private readonly ActivationBuffer _up;
    private readonly ActivationBuffer _down;
    private readonly ActivationBuffer[] _scratch;
    private int[] _choices = [];
    private float[] _weights = [];
    private int[] _rows = [];

    public ExpertsOp(ActivationBuffer input, ActivationBuffer output, ActivationBuffer reduced, AllReduceGroup group, WeightTensor router,
        IReadOnlyList<(WeightTensor Gate, WeightTensor Up, WeightTensor Down)> experts, int topK, bool normTopK, bool accumulate,
        ActivationKind activation, int workers)
    {
        _input = input;
        _output = output;
        _reduced = reduced;
        _group = group;
        _topK = topK;
        _normTopK = normTopK;
        _accumulate = accumulate;
        _activation = activation;
        int intermediate = experts[0].Gate.Rows;
        _routerLogits = new ActivationBuffer("router", router.Rows);
        _gathered = new ActivationBuffer("expert-input", input.Width);
        _gate = new ActivationBuffer("expert-gate", intermediate);
        _up = new ActivationBuffer("expert-up", intermediate);
        _down = new ActivationBuffer("expert-down", group.Width);
        _scratch = [_routerLogits, _gathered, _gate, _up, _down];
        // Routing picks experts by rank: its logits are computed from the exact input, never rounded to bf16.
        _router = new ProjectionJob([new ProjectionJob.Target(router, _routerLogits, 0, null)], workers, roundsInput: false);
        _experts = experts.Select(e => new Expert(
            new ProjectionJob([new ProjectionJob.Target(e.Gate, _gate, 0, null), new ProjectionJob.Target(e.Up, _up, 0, null)], workers),
            new ProjectionJob([new ProjectionJob.Target(e.Down, _down, 0, null)], workers))).ToArray();
    }

    /// <summary>Scratch that grows with the step's rows (the engine sizes declared buffers; these are the op's own).</summary>
    private void EnsureRows(int rows)
    {
        foreach (var buffer in _scratch)
        {
            buffer.EnsureRows(rows);
        }

        if (_choices.Length < rows * _topK)
        {
            _choices = new int[rows * _topK];
            _weights = new float[rows * _topK];
            _rows = new int[rows];
        }
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int rows = step.Rows;
        EnsureRows(rows);
        _router.Input = _input;
        _router.FirstInputRow = 0;
        _router.Rows = rows;
        _router.Run(device.Pool);
        for (int t = 0; t < rows; t++)
        {
            Route(_routerLogits.Row(t)[.._experts.Length], _choices.AsSpan(t * _topK, _topK), _weights.AsSpan(t * _topK, _topK));
        }

        int parity = device.CollectiveCount++ & 1;
        ActivationBuffer partial = _group.Partial(device.Device, parity);
        int width = _group.Width;
        partial.Data.AsSpan(0, rows * width).Clear();
        for (int e = 0; e < _experts.Length; e++)
        {
            int count = 0;
            for (int t = 0; t < rows; t++)
            {
                if (_choices.AsSpan(t * _topK, _topK).Contains(e))
                {
                    _input.Row(t).CopyTo(_gathered.Row(count));
                    _rows[count++] = t;
                }
            }

            if (count == 0)
            {
                continue;
            }

            RunExpert(device, _experts[e], count);
            for (int i = 0; i < count; i++)
            {
                int t = _rows[i];
                float weight = _weights[t * _topK + _choices.AsSpan(t * _topK, _topK).IndexOf(e)];
                Span<float> target = partial.Row(t)[..width];
                TensorPrimitives.MultiplyAdd(_down.Row(i)[..width], weight, target, target);
            }
        }

        ProjectAllReduceOp.Reduce(_group, parity, _output, _reduced, rows, null, _accumulate, 1);
    }

    private void RunExpert(DeviceState device, Expert expert, int rows)
    {
        expert.GateUp.Input = _gathered;
        expert.GateUp.FirstInputRow = 0;
        expert.GateUp.Rows = rows;
        expert.GateUp.Run(device.Pool);
        for (int i = 0; i < rows; i++)
        {
            Activations.GateInPlace(_activation, _gate.Row(i), _up.Row(i));
        }

        expert.Down.Input = _gate;
        expert.Down.FirstInputRow = 0;
        expert.Down.Rows = rows;
        expert.Down.Run(device.Pool);
    }

    /// <summary>Softmax over the experts in fp32, the top k by probability (lower index first on ties), optionally renormalised.</summary>
    private void Route(Span<float> logits, Span<int> choices, Span<float> weights)
    {
        float max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        TensorPrimitives.Multiply(logits, 1 / TensorPrimitives.Sum(logits), logits);
        for (int k = 0; k < _topK; k++)
        {
            int best = -1;
            for (int e = 0; e < logits.Length; e++)
            {
                if (!choices[..k].Contains(e) && (best < 0 || logits[e] > logits[best]))
                {
                    best = e;
                }
            }

            choices[k] = best;
            weights[k] = logits[best];
        }

        if (_normTopK)
        {
            TensorPrimitives.Multiply(weights, 1 / TensorPrimitives.Sum(weights), weights);
        }
    }

    private sealed record Expert(ProjectionJob GateUp, ProjectionJob Down);
}
