using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary><see cref="Compiled.OpCode.Rotary"/>: rotates q and k of each row in place at the row's position. Rows run in parallel.</summary>
internal sealed class RotaryOp : BoundOp
{
    private readonly Job _job;

    public RotaryOp(ActivationBuffer q, int qWidth, ActivationBuffer k, int kWidth, RotaryTable rotary)
    {
        _job = new Job(q, qWidth, k, kWidth, rotary);
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        _job.Step = step;
        device.Pool.Run(_job, step.Rows, minPerWorker: 16);
        _job.Step = null;
    }

    private sealed class Job(ActivationBuffer q, int qWidth, ActivationBuffer k, int kWidth, RotaryTable rotary) : ParallelJob
    {
        public StepContext? Step { get; set; }

        public override void Execute(int start, int end, int worker)
        {
            StepContext step = Step!;
            for (int t = start; t < end; t++)
            {
                rotary.Apply(q.Row(t)[..qWidth], step.Positions[t]);
                rotary.Apply(k.Row(t)[..kWidth], step.Positions[t]);
            }
        }
    }
}
