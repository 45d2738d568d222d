using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary>
/// <see cref="Compiled.OpCode.Embed"/>: output row t = embed[token t] · scale, plus the learned position row
/// positions[position + offset] (GPT-2, OPT, BigCode) when the program names a position table.
/// </summary>
internal sealed class EmbedOp : BoundOp
{
    private readonly WeightTensor _table;
    private readonly WeightTensor? _positions;
    private readonly int _positionOffset;
    private readonly ActivationBuffer _output;
    private readonly float _scale;
    private readonly float[] _scratch;

    public EmbedOp(WeightTensor table, WeightTensor? positions, int positionOffset, ActivationBuffer output, float scale)
    {
        _table = table;
        _positions = positions;
        _positionOffset = positionOffset;
        _output = output;
        _scale = scale;
        _scratch = new float[Math.Max(table.PaddedCols, positions?.PaddedCols ?? 0)];
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        for (int t = 0; t < step.Rows; t++)
        {
            int token = step.Tokens[t]; // checked against the vocabulary by HostEngine.Forward
            Span<float> row = _output.Row(t)[.._table.Cols];
            TensorPrimitives.Multiply(WeightRows.Get(_table, token, _scratch), _scale, row);
            if (_positions is not null)
            {
                // The binder checked that the table covers every position below MaxLength.
                TensorPrimitives.Add(row, WeightRows.Get(_positions, step.Positions[t] + _positionOffset, _scratch), row);
            }
        }
    }
}
