using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.ProjectAllReduceAdd"/>: this device's partial product goes into its all-reduce buffer
/// (the job's output), the group adds all partials to the residual, then the bias is added once.
/// </summary>
internal sealed unsafe class ProjectAllReduceAddOp : BoundOp
{
    private readonly ProjectionJob[] _jobs;
    private readonly ActivationBuffer _input;
    private readonly ActivationBuffer _output;
    private readonly AllReduceGroup _group;
    private readonly float* _bias;

    /// <param name="jobs">Two jobs writing the device's partial buffer of parity 0 and 1.</param>
    public ProjectAllReduceAddOp(ProjectionJob[] jobs, ActivationBuffer input, ActivationBuffer output, AllReduceGroup group, float* bias)
    {
        _jobs = jobs;
        _input = input;
        _output = output;
        _group = group;
        _bias = bias;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int parity = device.CollectiveCount++ & 1;
        ProjectionJob job = _jobs[parity];
        job.Input = _input;
        job.FirstInputRow = 0;
        job.Rows = step.Rows;
        job.Run(device.Pool);
        _group.Reduce(parity, _output, step.Rows);
        if (_bias is not null)
        {
            var bias = new ReadOnlySpan<float>(_bias, _group.Width);
            for (int t = 0; t < step.Rows; t++)
            {
                Span<float> row = _output.Row(t);
                TensorPrimitives.Add(row, bias, row);
            }
        }
    }
}
