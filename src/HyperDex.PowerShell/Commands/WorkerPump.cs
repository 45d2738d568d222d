using System.Collections.Concurrent;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Runs asynchronous runtime work (downloads) on the thread pool while the pipeline thread drains what the workers
/// report into the cmdlet's reporter, so Write-Progress/Write-Verbose only ever run on the pipeline thread
/// (the AsyncPSCmdlet pattern of OpenAuthenticode, with a bounded queue and cancellation when the consumer leaves).
/// </summary>
internal sealed class WorkerPump : IHdxReporter, IDisposable
{
    private const int Capacity = 1024;
    private readonly BlockingCollection<Action<IHdxReporter>> _queue = new(Capacity);

    /// <summary>
    /// Runs <paramref name="work"/> on a worker with a thread-safe reporter and returns its result on the pipeline thread;
    /// the work's exceptions (HdxException, OperationCanceledException) are rethrown here.
    /// </summary>
    public static T Run<T>(IHdxReporter pipelineReporter, Func<IHdxReporter, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken)
    {
        using var pump = new WorkerPump();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var task = Task.Run(async () =>
        {
            try
            {
                return await work(pump, linked.Token).ConfigureAwait(false);
            }
            finally
            {
                pump._queue.CompleteAdding();
            }
        }, CancellationToken.None);

        bool drained = false;
        try
        {
            // Not cancelled by the token: the worker honours it and completes the queue, so its cleanup is awaited.
            foreach (var report in pump._queue.GetConsumingEnumerable(CancellationToken.None))
            {
                report(pipelineReporter);
            }

            drained = true;
        }
        finally
        {
            if (!drained)
            {
                // The pipeline thread left (stopped, or a downstream error): stop the workers and wait for their cleanup.
                linked.Cancel();
                try
                {
                    task.Wait(CancellationToken.None);
                }
                catch (AggregateException)
                {
                }
            }
        }

        return task.GetAwaiter().GetResult();
    }

    // Progress is lossy under pressure (a newer update follows); messages are kept.
    public void Progress(HdxProgress progress) => Post(r => r.Progress(progress), lossy: !progress.Completed);

    public void Verbose(string message) => Post(r => r.Verbose(message), lossy: false);

    public void Warning(string message) => Post(r => r.Warning(message), lossy: false);

    private void Post(Action<IHdxReporter> report, bool lossy)
    {
        try
        {
            if (lossy)
            {
                _queue.TryAdd(report);
            }
            else
            {
                _queue.TryAdd(report, TimeSpan.FromSeconds(5));
            }
        }
        catch (InvalidOperationException)
        {
            // Adding completed: the consumer is gone.
        }
    }

    public void Dispose() => _queue.Dispose();
}
