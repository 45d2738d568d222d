using System.Runtime.ExceptionServices;

namespace HyperDex.Runtime.Engine;

/// <summary>A unit of data-parallel work over an index range; instances are created once and reused every step.</summary>
internal abstract class ParallelJob
{
    /// <summary>Processes indices [start, end) on worker <paramref name="worker"/> (0 = the calling thread).</summary>
    public abstract void Execute(int start, int end, int worker);

    /// <summary>Chunks handed to workers are multiples of this (e.g. a projection's register-tile rows).</summary>
    public virtual int Granularity => 1;
}

/// <summary>
/// Persistent helper threads of one device: <see cref="Run"/> cuts an index range into a few contiguous chunks per
/// worker that the caller and the helpers take in turn from a shared counter, so a worker the (shared) machine
/// delays holds up no more than the chunk it took. Helpers spin briefly after a job before they block, as decode
/// hands them a job every few hundred microseconds and a wake-up from sleep costs about that much.
/// No task scheduling and no allocation per call.
/// </summary>
internal sealed class ComputePool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly ManualResetEventSlim _done = new(false);
    private ParallelJob? _job;
    private int _count;
    private int _chunk;
    private int _next;
    private int _remaining;
    private Exception? _error;
    private volatile bool _stopping;

    /// <summary>About this many flops per worker make waking a helper thread worth it.</summary>
    public const int MinWorkPerWorker = 1 << 17;

    /// <summary>Chunks per worker: enough to even out a late worker, few enough to keep chunks large.</summary>
    private const int ChunksPerWorker = 4;

    /// <summary>How long an idle helper (and a waiting caller) spins before blocking: 200 µs.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5000;

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

        int granularity = Math.Max(1, job.Granularity);
        int chunk = (int)Math.Max(Math.Max(1, minPerWorker), (count + (long)parts * ChunksPerWorker - 1) / (parts * ChunksPerWorker));
        _chunk = (chunk + granularity - 1) / granularity * granularity;
        _job = job;
        _count = count;
        _next = 0;
        _error = null;
        _done.Reset();
        Volatile.Write(ref _remaining, _threads.Length);
        for (int i = 0; i < _start.Length; i++)
        {
            _start[i].Release();
        }

        try
        {
            Work(job, 0);
        }
        finally
        {
            long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _remaining) != 0 && System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(20);
            }

            _done.Wait();
            _job = null;
        }

        if (_error is not null)
        {
            ExceptionDispatchInfo.Throw(_error);
        }
    }

    private void Work(ParallelJob job, int worker)
    {
        while (true)
        {
            long start = (long)(Interlocked.Increment(ref _next) - 1) * _chunk;
            if (start >= _count)
            {
                return;
            }

            job.Execute((int)start, (int)Math.Min(_count, start + _chunk), worker);
        }
    }

    private void WaitForJob(int index)
    {
        long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        while (!_start[index].Wait(0))
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() >= spinUntil)
            {
                _start[index].Wait();
                return;
            }

            Thread.SpinWait(20);
        }
    }

    private void Loop(int index)
    {
        while (true)
        {
            WaitForJob(index);
            if (_stopping)
            {
                return;
            }

            try
            {
                Work(_job!, index + 1);
            }
            catch (Exception error)
            {
                _error = error;
                Volatile.Write(ref _next, int.MaxValue / 2);
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
