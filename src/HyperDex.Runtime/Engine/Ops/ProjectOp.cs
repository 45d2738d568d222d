using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Project"/>: one projection job over all the op's matrices (q/k/v, gate/up, fc), then
/// the epilogue: an activation of each output, or act(gate) ⊙ up for a gated MLP; outputs clipped when clamp &gt; 0.
/// </summary>
internal sealed class ProjectOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly ProjectionJob _job;
    private readonly ActivationBuffer[] _outputs;
    private readonly int[] _widths;
    private readonly ActivationKind? _activation;
    private readonly (ActivationBuffer Gate, ActivationBuffer Up, int Width)? _gated;
    private readonly float _clamp;

    public ProjectOp(ActivationBuffer input, ProjectionJob job, ActivationBuffer[] outputs, int[] widths, ActivationKind? activation,
        (ActivationBuffer Gate, ActivationBuffer Up, int Width)? gated, float clamp)
    {
        _input = input;
        _job = job;
        _outputs = outputs;
        _widths = widths;
        _activation = activation;
        _gated = gated;
        _clamp = clamp;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        _job.Input = _input;
        _job.FirstInputRow = 0;
        _job.Rows = step.Rows;
        _job.Run(device.Pool);
        if (_gated is null && _activation is null && _clamp == 0)
        {
            return; // a plain projection (q/k/v): nothing to apply to its outputs
        }

        for (int t = 0; t < step.Rows; t++)
        {
            if (_gated is { } gated)
            {
                Activations.GateInPlace(_activation!.Value, gated.Gate.Row(t)[..gated.Width], gated.Up.Row(t)[..gated.Width]);
                continue;
            }

            for (int i = 0; i < _outputs.Length; i++)
            {
                Span<float> row = _outputs[i].Row(t)[.._widths[i]];
                if (_activation is { } activation)
                {
                    Activations.ApplyInPlace(activation, row);
                }

                if (_clamp > 0)
                {
                    TensorPrimitives.Min(row, _clamp, row);
                    TensorPrimitives.Max(row, -_clamp, row);
                }
            }
        }
    }
}
