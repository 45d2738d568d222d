using System.Runtime.ExceptionServices;

namespace HyperDex.Runtime.Engine;

/// <summary>A unit of data-parallel work over an index range; instances are created once and reused every step.</summary>
internal abstract class ParallelJob
{
    /// <summary>Processes indices [start, end) on worker <paramref name="worker"/> (0 = the calling thread).</summary>
    public abstract void Execute(int start, int end, int worker);
}

/// <summary>
/// Persistent helper threads of one device: <see cref="Run"/> splits an index range into equal contiguous parts, one
/// per worker, runs part 0 on the caller and waits for the rest. No task scheduling and no allocation per call.
/// </summary>
internal sealed class ComputePool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly ManualResetEventSlim _done = new(false);
    private ParallelJob? _job;
    private int _count;
    private int _remaining;
    private Exception? _error;
    private volatile bool _stopping;

    /// <summary>About this many flops per worker make waking a helper thread worth it.</summary>
    public const int MinWorkPerWorker = 1 << 17;

    public ComputePool(int workers, string name)
    {
        int helpers = Math.Max(0, workers - 1);
        _threads = new Thread[helpers];
        _start = new SemaphoreSlim[helpers];
        for (int i = 0; i < helpers; i++)
        {
            int index = i;
            _start[i] = new SemaphoreSlim(0);
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"{name}-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads working on a job, the caller included.</summary>
    public int Workers => _threads.Length + 1;

    /// <summary>Runs <paramref name="job"/> over [0, count); ranges smaller than <paramref name="minPerWorker"/> per worker run inline.</summary>
    public void Run(ParallelJob job, int count, int minPerWorker = 1)
    {
        if (count <= 0)
        {
            return;
        }

        int parts = Math.Min(Workers, Math.Max(1, count / Math.Max(1, minPerWorker)));
        if (parts == 1)
        {
            job.Execute(0, count, 0);
            return;
        }

        _job = job;
        _count = count;
        _error = null;
        _done.Reset();
        Volatile.Write(ref _remaining, _threads.Length);
        for (int i = 0; i < _start.Length; i++)
        {
            _start[i].Release();
        }

        try
        {
            job.Execute(0, End(0), 0);
        }
        finally
        {
            _done.Wait();
            _job = null;
        }

        if (_error is not null)
        {
            ExceptionDispatchInfo.Throw(_error);
        }
    }

    private int End(int part) => (int)((long)_count * (part + 1) / Workers);

    private void Loop(int index)
    {
        while (true)
        {
            _start[index].Wait();
            if (_stopping)
            {
                return;
            }

            try
            {
                int part = index + 1;
                int start = End(part - 1);
                int end = End(part);
                if (start < end)
                {
                    _job!.Execute(start, end, part);
                }
            }
            catch (Exception error)
            {
                _error = error;
            }
            finally
            {
                if (Interlocked.Decrement(ref _remaining) == 0)
                {
                    _done.Set();
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var start in _start)
        {
            start.Release();
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var start in _start)
        {
            start.Dispose();
        }

        _done.Dispose();
    }
}
