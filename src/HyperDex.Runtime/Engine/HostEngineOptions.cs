namespace HyperDex.Runtime.Engine;

/// <summary>How a <see cref="HostEngine"/> uses the machine.</summary>
public sealed record HostEngineOptions
{
    /// <summary>Threads per device worker (the worker included); null = the processor count divided by NumDevice.</summary>
    public int? ThreadsPerDevice { get; init; }

    /// <summary>How many MaxLength sequences the KV block pool holds at once (generations beyond that wait).</summary>
    public int KvSequences { get; init; } = 2;

    /// <summary>
    /// KV bytes set aside for the prefix cache on top of the <see cref="KvSequences"/> running sequences. Null: no
    /// extra room; cached blocks use whatever running sequences leave free. 0: prefix caching is off for this engine.
    /// </summary>
    public long? PrefixCacheBytes { get; init; }
}
