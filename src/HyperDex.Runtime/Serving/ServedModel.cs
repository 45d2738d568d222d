using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Serving;

/// <summary>A model the server answers for under its served name, with its batch scheduler. Owns the model lease.</summary>
public sealed class ServedModel : IDisposable
{
    private readonly ModelLease _lease;

    internal ServedModel(string name, ModelLease lease)
    {
        Name = name;
        _lease = lease;
        // Memory a server will need is taken at start: steady resident memory, and no page faults inside requests.
        lease.Model.Engine.CommitKvCache();
        Scheduler = new BatchScheduler(lease.Model.Engine, name);
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>The only name requests may address the model by (never its path).</summary>
    public string Name { get; }

    public LoadedModel Model => _lease.Model;

    /// <summary>Unix time the server started serving the model (the "created" of /v1/models).</summary>
    public long Created { get; }

    internal BatchScheduler Scheduler { get; }

    public void Dispose()
    {
        Scheduler.Dispose();
        _lease.Dispose();
    }
}
