using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.ProjectAllReduce"/>: this device's partial product goes into its all-reduce buffer (the
/// job's output), the group adds all partials, the bias is added once, then the sum · scale is added to the residual
/// or assigned to a block output that a post-norm reads next.
/// </summary>
internal sealed unsafe class ProjectAllReduceOp : BoundOp
{
    private readonly ProjectionJob[] _jobs;
    private readonly ActivationBuffer _input;
    private readonly ActivationBuffer _output;
    private readonly ActivationBuffer _reduced;
    private readonly AllReduceGroup _group;
    private readonly float* _bias;
    private readonly bool _accumulate;
    private readonly float _scale;

    /// <param name="jobs">Two jobs writing the device's partial buffer of parity 0 and 1.</param>
    /// <param name="reduced">Scratch of the residual's width, for a sum that is scaled before it is added.</param>
    public ProjectAllReduceOp(ProjectionJob[] jobs, ActivationBuffer input, ActivationBuffer output, ActivationBuffer reduced,
        AllReduceGroup group, float* bias, bool accumulate, float scale)
    {
        _jobs = jobs;
        _input = input;
        _output = output;
        _reduced = reduced;
        _group = group;
        _bias = bias;
        _accumulate = accumulate;
        _scale = scale;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        int parity = device.CollectiveCount++ & 1;
        ProjectionJob job = _jobs[parity];
        job.Input = _input;
        job.FirstInputRow = 0;
        job.Rows = step.Rows;
        job.Run(device.Pool);
        Reduce(_group, parity, _output, _reduced, step.Rows, _bias, _accumulate, _scale);
    }

    /// <summary>
    /// output (+)= (Σ partials + bias) · scale. The plain residual add reduces straight into the output; anything
    /// else sums into <paramref name="reduced"/> first. Shared with <see cref="ExpertsOp"/>.
    /// </summary>
    internal static void Reduce(AllReduceGroup group, int parity, ActivationBuffer output, ActivationBuffer reduced, int rows,
        float* bias, bool accumulate, float scale)
    {
        int width = group.Width;
        bool direct = accumulate && scale == 1;
        ActivationBuffer target = direct ? output : reduced;
        if (!direct)
        {
            target.Data.AsSpan(0, rows * width).Clear();
        }

        group.Reduce(parity, target, rows);
        for (int t = 0; t < rows; t++)
        {
            Span<float> row = target.Row(t)[..width];
            if (bias is not null)
            {
                TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, width), row);
            }

            if (direct)
            {
                continue;
            }

            Span<float> destination = output.Row(t)[..width];
            if (accumulate)
            {
                TensorPrimitives.MultiplyAdd(row, scale, destination, destination);
            }
            else
            {
                TensorPrimitives.Multiply(row, scale, destination);
            }
        }
    }
}
