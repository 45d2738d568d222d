using System.Numerics.Tensors;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine.Ops;

/// <summary><see cref="Compiled.OpCode.Embed"/>: output row t = embed[token t] · scale.</summary>
internal sealed class EmbedOp : BoundOp
{
    private readonly WeightTensor _table;
    private readonly ActivationBuffer _output;
    private readonly float _scale;
    private readonly float[] _scratch;

    public EmbedOp(WeightTensor table, ActivationBuffer output, float scale)
    {
        _table = table;
        _output = output;
        _scale = scale;
        _scratch = new float[table.PaddedCols];
    }

    public override void Execute(DeviceState device, StepContext step)
    {
        for (int t = 0; t < step.Rows; t++)
        {
            int token = step.Tokens[t]; // checked against the vocabulary by HostEngine.Forward
            TensorPrimitives.Multiply(WeightRows.Get(_table, token, _scratch), _scale, _output.Row(t)[.._table.Cols]);
        }
    }
}
