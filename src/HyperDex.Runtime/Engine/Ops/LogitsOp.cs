using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Logits"/>: the rows whose logits the step returns (the last row of each sequence) are
/// gathered, projected through this device's vocabulary slice of the head straight into the shared logits at
/// vocabStart (slices are disjoint, so no reduce is needed), then biased, scaled and soft-capped in place.
/// </summary>
internal sealed unsafe class LogitsOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly ActivationBuffer _gathered;
    private readonly ProjectionJob _job;
    private readonly int _start;
    private readonly int _count;
    private readonly float* _bias;
    private readonly float _scale;
    private readonly float _softcap;

    public LogitsOp(ActivationBuffer input, ActivationBuffer gathered, ProjectionJob job, int start, int count, float* bias, float scale, float softcap)
    {
        _input = input;
        _gathered = gathered;
        _job = job;
        _start = start;
        _count = count;
        _bias = bias;
        _scale = scale;
        _softcap = softcap;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int rows = step.LogitCount;
        _gathered.EnsureRows(rows);
        for (int i = 0; i < rows; i++)
        {
            _input.Row(step.LogitRows[i]).CopyTo(_gathered.Row(i));
        }

        _job.Input = _gathered;
        _job.FirstInputRow = 0;
        _job.Rows = rows;
        _job.Run(device.Pool);
        if (_bias is null && _scale == 1 && _softcap == 0)
        {
            return;
        }

        for (int i = 0; i < rows; i++)
        {
            Span<float> logits = step.Logits.Row(i).Slice(_start, _count);
            if (_bias is not null)
            {
                TensorPrimitives.Add(logits, new ReadOnlySpan<float>(_bias, _count), logits);
            }

            if (_scale != 1)
            {
                TensorPrimitives.Multiply(logits, _scale, logits);
            }

            if (_softcap > 0)
            {
                // tanh(l / c) · c (Gemma 2's final_logit_softcapping)
                TensorPrimitives.Multiply(logits, 1 / _softcap, logits);
                TensorPrimitives.Tanh(logits, logits);
                TensorPrimitives.Multiply(logits, _softcap, logits);
            }
        }
    }
}
