using System.Diagnostics;
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
/// Persistent helper threads of one device, built to degrade in proportion when the (shared) machine is busy:
/// <list type="bullet">
/// <item><see cref="Run"/> cuts an index range into a few chunks per worker, smaller towards its end, that the caller
/// and the helpers claim from one counter. A job is complete when its chunks are, not when every helper has checked in: a helper the
/// scheduler has not run yet holds up nothing, as the caller takes the remaining chunks itself. The caller waits only
/// for chunks already being computed.</item>
/// <item>The counter carries the job's generation, so a helper that wakes late claims nothing of a job it did not see
/// start (a compare-exchange on generation and index together).</item>
/// <item>Spinning is bounded and yielding: an idle helper spins about <see cref="SpinMicroseconds"/> µs (decode hands
/// out a job every few tens of microseconds and a wake-up from sleep costs about that much), yielding its core to any
/// other runnable thread, then blocks; a caller waiting for an in-flight chunk does the same, so a preempted helper can
/// take the caller's core instead of waiting for its own.</item>
/// <item>The number of workers adapts: when the caller keeps waiting on late helpers (the machine has fewer free cores
/// than the pool has threads), jobs run on fewer workers for a while, then the full count is tried again.</item>
/// </list>
/// No task scheduling and no allocation per call.
/// </summary>
internal sealed class ComputePool : IDisposable
{
    /// <summary>About this many flops per worker make waking a helper thread worth it.</summary>
    public const int MinWorkPerWorker = 1 << 17;

    /// <summary>How long an idle helper, or a caller waiting for an in-flight chunk, spins before it blocks.</summary>
    public const int SpinMicroseconds = 50;

    /// <summary>Chunks per worker: enough to even out a late worker, few enough to keep chunks large.</summary>
    private const int ChunksPerWorker = 4;

    /// <summary>The last chunks of a job shrink to 1/<see cref="TailDivisions"/> of full size (<see cref="ChunkAt"/>).</summary>
    private const int TailDivisions = 4;

    /// <summary>Parallel runs per adaptation window, and how many of them may stall before a worker is dropped.</summary>
    private const int Window = 64;
    private const int StallsToShrink = 8;

    /// <summary>Runs on fewer workers before the full count is tried again.</summary>
    private const int ShrunkRuns = 1024;

    private static readonly long SpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _wake;
    private readonly int[] _parked;
    private readonly ManualResetEventSlim _done = new(false);

    /// <summary>High 32 bits: the job's generation; low 32 bits: the next index to claim.</summary>
    private long _state;
    private int _generation;
    private ParallelJob? _job;
    private int _count;
    private int _chunk;
    private int _smallestChunk;
    private int _granularity;
    private int _parts;
    private int _finished;
    private Exception? _error;
    private volatile bool _stopping;

    private int _active;
    private int _windowRuns;
    private int _windowStalls;
    private int _shrunkRunsLeft;

    public ComputePool(int workers, string name)
    {
        int helpers = Math.Max(0, workers - 1);
        _threads = new Thread[helpers];
        _wake = new SemaphoreSlim[helpers];
        _parked = new int[helpers];
        _active = helpers + 1;
        for (int i = 0; i < helpers; i++)
        {
            int index = i;
            _wake[i] = new SemaphoreSlim(0);
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"{name}-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that may work on a job, the caller included (worker indices are below this).</summary>
    public int Workers => _threads.Length + 1;

    /// <summary>Workers jobs are currently cut for (fewer than <see cref="Workers"/> while the machine is contended).</summary>
    public int ActiveWorkers => Volatile.Read(ref _active);

    /// <summary>Runs <paramref name="job"/> over [0, count); ranges smaller than <paramref name="minPerWorker"/> per worker run inline.</summary>
    public void Run(ParallelJob job, int count, int minPerWorker = 1)
    {
        if (count <= 0)
        {
            return;
        }

        int wanted = Math.Min(Workers, Math.Max(1, count / Math.Max(1, minPerWorker)));
        if (wanted > _active && --_shrunkRunsLeft <= 0)
        {
            _active = Workers; // the shrunk period is over: try the full count again
            _windowRuns = _windowStalls = 0;
        }

        int parts = Math.Min(_active, wanted);
        if (parts == 1)
        {
            job.Execute(0, count, 0);
            return;
        }

        int granularity = Math.Max(1, job.Granularity);
        // The range cut into this many pieces, each at least minPerWorker and a whole number of granules.
        int ChunkOf(int pieces) => RoundUp((int)Math.Max(Math.Max(1, minPerWorker), (count + (long)pieces - 1) / pieces), granularity);
        _chunk = ChunkOf(parts * ChunksPerWorker);
        _smallestChunk = ChunkOf(parts * ChunksPerWorker * TailDivisions);
        _granularity = granularity;
        _job = job;
        _parts = parts;
        _count = count;
        _finished = 0;
        _error = null;
        _done.Reset();
        int generation = ++_generation;
        Interlocked.Exchange(ref _state, (long)generation << 32); // publishes the fields above; a full fence before reading _parked
        for (int i = 0; i < parts - 1; i++)
        {
            if (Volatile.Read(ref _parked[i]) == 1 && Interlocked.Exchange(ref _parked[i], 0) == 1)
            {
                _wake[i].Release();
            }
        }

        long started = Stopwatch.GetTimestamp();
        long waited;
        try
        {
            Work(job, generation, 0);
        }
        finally
        {
            long waitStart = Stopwatch.GetTimestamp();
            WaitForChunks(count);
            waited = Stopwatch.GetTimestamp() - waitStart;
            Close(generation);
            _job = null;
        }

        Adapt(waited, Stopwatch.GetTimestamp() - started);
        if (_error is not null)
        {
            ExceptionDispatchInfo.Throw(_error);
        }
    }

    /// <summary>Claims and computes chunks of job <paramref name="generation"/> until none is left (or another job started).</summary>
    private void Work(ParallelJob job, int generation, int worker)
    {
        while (TryClaim(generation, out int start, out int end))
        {
            try
            {
                job.Execute(start, end, worker);
            }
            catch (Exception error)
            {
                _error ??= error;
                Cancel(generation);
                if (worker == 0)
                {
                    Finish(end - start);
                    throw;
                }
            }

            Finish(end - start);
        }
    }

    private bool TryClaim(int generation, out int start, out int end)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            start = (int)state;
            end = 0;
            if ((int)(state >> 32) != generation || start >= _count)
            {
                return false;
            }

            end = Math.Min(_count, start + ChunkAt(start));

            // Succeeds only while the job is still this generation's with [start, ...) unclaimed, so the job's fields
            // read above (_count, and the chunk sizes ChunkAt read) were this job's: the caller closes the job (Close)
            // before it sets them for the next one.
            if (Interlocked.CompareExchange(ref _state, ((long)generation << 32) | (uint)end, state) == state)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// The size of the chunk that starts at <paramref name="start"/>: full size while much is left, then half of each
    /// worker's fair share of the rest, down to a quarter of full size. The workers then finish within a small chunk
    /// of each other; with equal chunks one idled for up to a whole one at the end (decode measured 3–7% faster on
    /// bench-110m and bench-1b, alternating rounds in one process). Depends only on the start and the job's fields,
    /// so a claim's compare-exchange still decides everything.
    /// </summary>
    private int ChunkAt(int start)
    {
        int share = RoundUp((_count - start) / (2 * _parts), _granularity);
        return Math.Clamp(share, _smallestChunk, _chunk);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Marks a completed job's counter as exhausted before the fields are reused. Without it, a helper that read the
    /// finished state (generation, count) and then the next job's larger count saw indices left, and its
    /// compare-exchange still succeeded (the state had not changed yet): it ran the old job past its end and counted
    /// the chunk into the next job, which then never added up.
    /// </summary>
    private void Close(int generation) => Interlocked.Exchange(ref _state, ((long)generation << 32) | int.MaxValue);

    /// <summary>After a failure: claims everything unclaimed at once and counts it finished, so the job completes.</summary>
    private void Cancel(int generation)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            int next = (int)state;
            if ((int)(state >> 32) != generation || next >= _count)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _state, ((long)generation << 32) | (uint)_count, state) == state)
            {
                Finish(_count - next);
                return;
            }
        }
    }

    private void Finish(int indices)
    {
        if (Interlocked.Add(ref _finished, indices) == _count)
        {
            _done.Set();
        }
    }

    /// <summary>
    /// Waits until every index of the job is computed: a bounded, yielding spin, then blocking. The event is only a
    /// wake-up, never the proof: a helper preempted between counting a job's last chunk and setting the event sets it
    /// late, during a later job of the same size (the caller saw the count while spinning and moved on). Trusting that
    /// stale signal returned with chunks still in flight, whose late counts then kept a later job from ever adding up.
    /// So the count decides; a stale signal costs one more turn of the loop. No wake-up is lost: a finisher adds
    /// before it sets, so a signal cleared by the reset below was for a count the re-check already sees.
    /// </summary>
    private void WaitForChunks(int count)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _finished) != count)
        {
            if (Stopwatch.GetTimestamp() < spinUntil)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            _done.Wait();
            _done.Reset();
        }
    }

    /// <summary>
    /// Counts runs in which the caller waited for helpers longer than it computed alone (a helper was preempted or woke
    /// late); with many, drops a worker for <see cref="ShrunkRuns"/> runs that wanted more (counted down in
    /// <see cref="Run"/>), after which the full count is tried again.
    /// </summary>
    private void Adapt(long waited, long total)
    {
        if (waited > SpinTicks && waited * 2 > total)
        {
            _windowStalls++;
        }

        if (++_windowRuns < Window)
        {
            return;
        }

        if (_windowStalls >= StallsToShrink && _active > 1)
        {
            _active--;
            _shrunkRunsLeft = ShrunkRuns;
        }

        _windowRuns = _windowStalls = 0;
    }

    /// <summary>Returns the generation of a job published after <paramref name="seen"/>: spins a little, then parks.</summary>
    private int WaitForJob(int index, int seen)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        while (Stopwatch.GetTimestamp() < spinUntil)
        {
            int generation = (int)(Volatile.Read(ref _state) >> 32);
            if (generation != seen || _stopping)
            {
                return generation;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        while (true)
        {
            // Parked is set before the generation is read again and the caller publishes before it reads parked (both
            // full fences), so either this thread sees the new job or the caller sees it parked and wakes it.
            Interlocked.Exchange(ref _parked[index], 1);
            int generation = (int)(Volatile.Read(ref _state) >> 32);
            if (generation != seen || _stopping)
            {
                if (Interlocked.Exchange(ref _parked[index], 0) == 0)
                {
                    _wake[index].Wait(); // the caller took the flag and released: consume that release
                }

                return generation;
            }

            _wake[index].Wait();
        }
    }

    private void Loop(int index)
    {
        int seen = 0;
        while (true)
        {
            seen = WaitForJob(index, seen);
            if (_stopping)
            {
                return;
            }

            // Helpers beyond the job's worker count stay out even when they were spinning and saw it start.
            if (_job is { } job && index + 1 < _parts)
            {
                Work(job, seen, index + 1);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        Interlocked.Exchange(ref _state, (long)(_generation + 1) << 32);
        for (int i = 0; i < _threads.Length; i++)
        {
            if (Interlocked.Exchange(ref _parked[i], 0) == 1)
            {
                _wake[i].Release();
            }
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var wake in _wake)
        {
            wake.Dispose();
        }

        _done.Dispose();
    }
}
