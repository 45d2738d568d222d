using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.FinalNormLogits"/>: RMSNorm of the step's last row, then this device's vocabulary slice
/// of lm_head written straight into the shared logits at vocabStart (slices are disjoint, so no reduce is needed).
/// </summary>
internal sealed class FinalNormLogitsOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly WeightTensor _norm;
    private readonly float _eps;
    private readonly ActivationBuffer _normalized;
    private readonly ProjectionJob _job;

    public FinalNormLogitsOp(ActivationBuffer input, WeightTensor norm, float eps, ActivationBuffer normalized, ProjectionJob job)
    {
        _input = input;
        _norm = norm;
        _eps = eps;
        _normalized = normalized;
        _job = job;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int width = _norm.Cols;
        Normalization.RmsNorm(_input.Row(step.Rows - 1)[..width], _norm.AsFloats(), _eps, _normalized.Row(0)[..width]);
        _job.Input = _normalized;
        _job.FirstInputRow = 0;
        _job.Rows = 1;
        _job.Run(device.Pool);
    }
}
