using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Norm"/>: RMSNorm or LayerNorm of every row, over the whole row or per group (a q/k norm
/// per head), with an optional weight (as wide as the row, or one group's worth shared by every group) and bias.
/// A distributed norm adds every device's sums before normalising (OLMo 2's q/k norm over a head-split projection).
/// </summary>
internal sealed class NormOp : BoundOp
{
    private readonly ActivationBuffer _input;
    private readonly ActivationBuffer _output;
    private readonly int _width;
    private readonly int _group;
    private readonly bool _layerNorm;
    private readonly float _eps;
    private readonly WeightTensor? _weight;
    private readonly WeightTensor? _bias;
    private readonly AllReduceGroup? _distributed;
    private float[] _sums = new float[2];
    private float[] _totals = new float[2];

    public NormOp(ActivationBuffer input, ActivationBuffer output, int width, int group, bool layerNorm, float eps,
        WeightTensor? weight, WeightTensor? bias, AllReduceGroup? distributed)
    {
        _input = input;
        _output = output;
        _width = width;
        _group = group;
        _layerNorm = layerNorm;
        _eps = eps;
        _weight = weight;
        _bias = bias;
        _distributed = distributed;
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        if (_distributed is not null)
        {
            ExecuteDistributed(device, step);
            return;
        }

        for (int t = 0; t < step.Rows; t++)
        {
            Span<float> input = _input.Row(t);
            Span<float> output = _output.Row(t);
            for (int start = 0; start < _width; start += _group)
            {
                ReadOnlySpan<float> x = input.Slice(start, _group);
                Span<float> y = output.Slice(start, _group);
                float mean = 0;
                float variance;
                if (_layerNorm)
                {
                    // Two passes (mean, then the centred squares): no cancellation when the mean dwarfs the spread.
                    mean = TensorPrimitives.Sum(x) / _group;
                    TensorPrimitives.Subtract(x, mean, y);
                    variance = TensorPrimitives.SumOfSquares(y) / _group;
                }
                else
                {
                    variance = TensorPrimitives.SumOfSquares(x) / _group;
                }

                Normalization.Apply(x, mean, 1f / MathF.Sqrt(variance + _eps), Slice(_weight, start), Slice(_bias, start), y);
            }
        }
    }

    /// <summary>One group per row spread over the devices: sums, an all-reduce of the sums, then the normalisation.</summary>
    private void ExecuteDistributed(DeviceState device, StepContext step)
    {
        if (_sums.Length < 2 * step.Rows)
        {
            _sums = new float[2 * step.Rows];
            _totals = new float[2 * step.Rows];
        }

        for (int t = 0; t < step.Rows; t++)
        {
            var (sum, squares) = Normalization.Sums(_input.Row(t)[.._width]);
            _sums[2 * t] = (float)sum;
            _sums[2 * t + 1] = (float)squares;
        }

        int parity = device.CollectiveCount++ & 1;
        _distributed!.ReduceScalars(device.Device, parity, _sums.AsSpan(0, 2 * step.Rows), _totals);
        int count = _width * _distributed.NumDevice;
        for (int t = 0; t < step.Rows; t++)
        {
            var (mean, inverse) = Normalization.Statistics(_layerNorm, _totals[2 * t], _totals[2 * t + 1], count, _eps);
            Normalization.Apply(_input.Row(t)[.._width], mean, inverse, Slice(_weight, 0), Slice(_bias, 0), _output.Row(t)[.._width]);
        }
    }

    /// <summary>The weight values for the group at <paramref name="start"/>: a shared group-wide weight, or the row's slice.</summary>
    private ReadOnlySpan<float> Slice(WeightTensor? tensor, int start)
    {
        if (tensor is null)
        {
            return default;
        }

        ReadOnlySpan<float> values = tensor.AsFloats();
        return values.Length == _group ? values : values.Slice(start, _group);
    }
}
