using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// Joins the devices' partial results of a row-split projection. Each device writes its partial into its own buffer,
/// all meet at the barrier, then each adds every partial in device order to its replicated copy of the residual, so
/// all copies stay bit-identical. Partials alternate between two buffers: a device can only reuse one after everyone
/// has passed the next barrier, i.e. finished reading it.
/// </summary>
internal sealed class AllReduceGroup
{
    private readonly Barrier? _barrier;
    private readonly ActivationBuffer[][] _partials;

    public AllReduceGroup(int numDevice, int width, Barrier? barrier)
    {
        _barrier = barrier;
        _partials = new ActivationBuffer[numDevice][];
        for (int d = 0; d < numDevice; d++)
        {
            _partials[d] = [new ActivationBuffer($"partial{d}a", width), new ActivationBuffer($"partial{d}b", width)];
        }
    }

    public int Width => _partials[0][0].Width;

    public void EnsureRows(int rows)
    {
        foreach (var pair in _partials)
        {
            pair[0].EnsureRows(rows);
            pair[1].EnsureRows(rows);
        }
    }

    public ActivationBuffer Partial(int device, int parity) => _partials[device][parity];

    /// <summary>output[0..rows) += Σ_d partial_d, identically on every device.</summary>
    public void Reduce(int parity, ActivationBuffer output, int rows)
    {
        _barrier?.SignalAndWait();
        int length = rows * Width;
        Span<float> target = output.Data.AsSpan(0, length);
        foreach (var pair in _partials)
        {
            TensorPrimitives.Add(target, pair[parity].Data.AsSpan(0, length), target);
        }
    }
}
