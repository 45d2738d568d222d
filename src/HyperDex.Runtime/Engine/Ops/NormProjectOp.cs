using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.NormProject"/> and, with an activation, <see cref="Compiled.OpCode.NormGateUpActivation"/>:
/// RMSNorm of each input row, then one projection job over all the matrices, then (gated MLP) act(gate) ⊙ up.
/// </summary>
internal sealed class NormProjectOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly WeightTensor _norm;
    private readonly float _eps;
    private readonly ActivationBuffer _normalized;
    private readonly ProjectionJob _job;
    private readonly (ActivationBuffer Gate, ActivationBuffer Up, int Activation)? _gated;

    public NormProjectOp(ActivationBuffer input, WeightTensor norm, float eps, ActivationBuffer normalized, ProjectionJob job,
        (ActivationBuffer Gate, ActivationBuffer Up, int Activation)? gated = null)
    {
        _input = input;
        _norm = norm;
        _eps = eps;
        _normalized = normalized;
        _job = job;
        _gated = gated;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int width = _norm.Cols;
        for (int t = 0; t < step.Rows; t++)
        {
            Normalization.RmsNorm(_input.Row(t)[..width], _norm.AsFloats(), _eps, _normalized.Row(t)[..width]);
        }

        _job.Input = _normalized;
        _job.FirstInputRow = 0;
        _job.Rows = step.Rows;
        _job.Run(device.Pool);

        if (_gated is { } gated)
        {
            for (int t = 0; t < step.Rows; t++)
            {
                Activations.GateInPlace(gated.Activation, gated.Gate.Row(t), gated.Up.Row(t)[..gated.Gate.Width]);
            }
        }
    }
}
