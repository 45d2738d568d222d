using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Engine;

/// <summary>Everything one device worker owns: its weight shard, activation buffers, KV part, helper threads and bound program.</summary>
internal sealed class DeviceState : IDisposable
{
    public DeviceState(int device, DeviceProgram program, ParamImage image, ComputePool pool)
    {
        Device = device;
        Program = program;
        Image = image;
        Pool = pool;
    }

    public int Device { get; }

    public DeviceProgram Program { get; }

    public ParamImage Image { get; }

    public ComputePool Pool { get; }

    public Dictionary<string, ActivationBuffer> Buffers { get; } = new(StringComparer.Ordinal);

    /// <summary>Buffers private to the engine's fused ops (normalised inputs, the up projection).</summary>
    public List<ActivationBuffer> Scratch { get; } = new();

    public Dictionary<int, KvLayerStorage> Kv { get; } = new();

    public BoundOp[] Ops { get; set; } = Array.Empty<BoundOp>();

    public long MemoryBytes => Image.Length + Kv.Values.Sum(kv => 2 * kv.Length * sizeof(float))
        + Buffers.Values.Concat(Scratch).Sum(b => b.Data.LongLength * sizeof(float));

    /// <summary>Collectives executed so far; its parity picks the all-reduce buffer.</summary>
    public int CollectiveCount { get; set; }

    public void EnsureRows(int rows)
    {
        foreach (var buffer in Buffers.Values)
        {
            buffer.EnsureRows(rows);
        }

        foreach (var buffer in Scratch)
        {
            buffer.EnsureRows(rows);
        }
    }

    public void RunStep(StepContext step)
    {
        foreach (var op in Ops)
        {
            op.Execute(this, step);
        }
    }

    public void Dispose()
    {
        Pool.Dispose();
        Image.Dispose();
        foreach (var storage in Kv.Values)
        {
            storage.Dispose();
        }
    }
}

/// <summary>An instruction bound to its buffers, weights and attributes at load time, so a step does no lookups.</summary>
internal abstract class BoundOp
{
    public abstract void Execute(DeviceState device, StepContext step);
}
