namespace HyperDex.Runtime.Compiler;

/// <summary>
/// The source files' SHA-256 hashes (hdx.json's sourceHashes) taken on a worker thread, so that on a 2-core machine
/// hashing a multi-GB checkpoint overlaps phase 3 instead of preceding it. Disposing stops and waits for the worker,
/// so nothing outlives the compile (a Ctrl+C stops it within a block of the file being hashed).
/// </summary>
internal sealed class SourceHashing : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task<IReadOnlyDictionary<string, string>> _task;

    public SourceHashing(ModelSource source, CancellationToken cancellation)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = _stop.Token;
        _task = Task.Run(() => source.HashFiles(token), token);
    }

    /// <summary>The hashes, waiting for the worker if it is not done; its failure is thrown here.</summary>
    public IReadOnlyDictionary<string, string> Hashes => _task.GetAwaiter().GetResult();

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _task.Wait();
        }
        catch (AggregateException)
        {
            // Already reported through Hashes, or the compile failed for another reason first.
        }

        _stop.Dispose();
    }
}
