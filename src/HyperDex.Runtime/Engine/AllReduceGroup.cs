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
    private readonly float[][][] _scalars;

    public AllReduceGroup(int numDevice, int width, Barrier? barrier)
    {
        _barrier = barrier;
        _partials = new ActivationBuffer[numDevice][];
        for (int d = 0; d < numDevice; d++)
        {
            _partials[d] = [new ActivationBuffer($"partial{d}a", width), new ActivationBuffer($"partial{d}b", width)];
        }

        _scalars = new float[numDevice][][];
        for (int d = 0; d < numDevice; d++)
        {
            _scalars[d] = [new float[2], new float[2]];
        }
    }

    public int NumDevice => _partials.Length;

    public int Width => _partials[0][0].Width;

    public void EnsureRows(int rows)
    {
        foreach (var pair in _partials)
        {
            pair[0].EnsureRows(rows);
            pair[1].EnsureRows(rows);
        }
    }

    /// <summary>
    /// totals = Σ_d local_d of a few scalars per row (a distributed norm's sums), identically on every device. Uses the
    /// same parity as <see cref="Reduce"/>: the caller takes it from its collective count.
    /// </summary>
    public void ReduceScalars(int device, int parity, ReadOnlySpan<float> local, Span<float> totals)
    {
        ref float[] mine = ref _scalars[device][parity];
        if (mine.Length < local.Length)
        {
            mine = new float[local.Length];
        }

        local.CopyTo(mine);
        _barrier?.SignalAndWait();
        totals[..local.Length].Clear();
        foreach (var pair in _scalars)
        {
            TensorPrimitives.Add(totals[..local.Length], pair[parity].AsSpan(0, local.Length), totals[..local.Length]);
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
