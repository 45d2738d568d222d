using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary><see cref="Compiled.OpCode.Add"/>: output += input · scale for every row (a post-normed block output joining the residual).</summary>
internal sealed class AddOp(ActivationBuffer input, ActivationBuffer output, int width, float scale) : BoundOp
{
    public override void Execute(DeviceState device, StepContext step)
    {
        for (int t = 0; t < step.Rows; t++)
        {
            Span<float> target = output.Row(t)[..width];
            if (scale == 1)
            {
                TensorPrimitives.Add(target, input.Row(t)[..width], target);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(input.Row(t)[..width], scale, target, target);
            }
        }
    }
}
