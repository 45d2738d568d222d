using HyperDex.Runtime.Engine;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

public class ComputePoolTests
{
    /// <summary>Counts how often each index ran and checks the chunks' alignment and worker ids.</summary>
    private sealed class CountingJob(int capacity, int granularity, int workers) : ParallelJob
    {
        public int[] Hits { get; } = new int[capacity];

        public int BadChunks;

        public int ThrowAt { get; set; } = -1;

        public override int Granularity => granularity;

        public override void Execute(int start, int end, int worker)
        {
            if (start % granularity != 0 || worker < 0 || worker >= workers)
            {
                Interlocked.Increment(ref BadChunks);
            }

            for (int i = start; i < end; i++)
            {
                if (i == ThrowAt)
                {
                    throw new InvalidOperationException($"index {i}");
                }

                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    private static void RunMany(ComputePool pool, int jobs)
    {
        var random = new Random(5);
        for (int j = 0; j < jobs; j++)
        {
            int count = random.Next(1, 400);
            var job = new CountingJob(count, random.Next(1, 9), pool.Workers);
            pool.Run(job, count, minPerWorker: random.Next(1, 40));
            Assert.Equal(0, job.BadChunks);
            Assert.All(job.Hits, hits => Assert.Equal(1, hits));
        }
    }

    /// <summary>Runs <paramref name="body"/> while <paramref name="count"/> threads spin on arithmetic.</summary>
    private static void WithBusyThreads(int count, Action body)
    {
        using var stop = new CancellationTokenSource();
        var busy = Enumerable.Range(0, count).Select(_ => new Thread(() =>
        {
            double x = 1;
            while (!stop.IsCancellationRequested)
            {
                x = (x * 1.0000001) + 1e-9;
            }

            GC.KeepAlive(x);
        })).ToList();
        busy.ForEach(t => t.Start());
        try
        {
            body();
        }
        finally
        {
            stop.Cancel();
            busy.ForEach(t => t.Join());
        }
    }

    /// <summary>Records each chunk's (start, length).</summary>
    private sealed class ChunkRecordingJob(int granularity) : ParallelJob
    {
        public System.Collections.Concurrent.ConcurrentBag<(int Start, int Length)> Chunks { get; } = new();

        public override int Granularity => granularity;

        public override void Execute(int start, int end, int worker) => Chunks.Add((start, end - start));
    }

    [Fact]
    public void ChunksShrinkTowardsTheEndOfAJobSoWorkersFinishTogether()
    {
        using var pool = new ComputePool(2, "pool-test");
        var job = new ChunkRecordingJob(granularity: 4);
        pool.Run(job, 4096);
        var chunks = job.Chunks.OrderBy(c => c.Start).ToList();

        Assert.Equal(4096, chunks.Sum(c => c.Length));
        Assert.Equal(512, chunks[0].Length); // full size: 4096 / (2 workers · 4 chunks each)
        Assert.All(chunks, c => Assert.Equal(0, c.Length % 4));
        for (int i = 1; i < chunks.Count; i++)
        {
            Assert.Equal(chunks[i - 1].Start + chunks[i - 1].Length, chunks[i].Start);
            Assert.True(chunks[i].Length <= chunks[i - 1].Length, $"chunk {i} grew: {chunks[i - 1].Length} then {chunks[i].Length}");
        }

        // Down to a quarter of full size (the very last chunk is whatever is left).
        Assert.Equal(128, chunks.Take(chunks.Count - 1).Min(c => c.Length));
        Assert.True(chunks[^1].Length <= 128);
    }

    [Fact]
    public void EveryIndexRunsExactlyOnceInEveryJob()
    {
        using var pool = new ComputePool(3, "pool-test");
        RunMany(pool, 3000);
    }

    [Fact]
    public void EveryIndexRunsExactlyOnceWhileBusyThreadsHoldTheCores()
    {
        // More busy threads than cores: helpers wake late or are preempted inside chunks, the caller takes their share.
        WithBusyThreads(Environment.ProcessorCount, () =>
        {
            using var pool = new ComputePool(2, "pool-test");
            RunMany(pool, 3000);
            Assert.InRange(pool.ActiveWorkers, 1, pool.Workers);
        });
    }

    [Fact]
    public void RunReturnsOnlyWhenItsJobIsCompleteWhateverTheSizesOfConsecutiveJobs()
    {
        // Decode repeats jobs of one size back to back. A helper preempted between counting its last chunk and
        // signalling completion could signal a later job of the same size as done (ComputePool.WaitForChunks): Run
        // returned with chunks still being computed, and their late counts made a later job wait forever (seen once in
        // the benchmark's contention run). Busy threads (more than cores) make preemptions frequent. That window is a few
        // instructions and is caught only sometimes; the counter race below hung the old pool in 2 of 2 runs. The run is
        // bounded, so a hang fails instead of blocking.
        WithBusyThreads(Environment.ProcessorCount + 1, () =>
        {
            int incomplete = 0;
            var worker = new Thread(() =>
            {
                using var pool = new ComputePool(2, "pool-test");
                // Equal sizes back to back, then a larger one: a helper that read a finished job's state and then
                // the next job's larger count once claimed indices past the old job's end (ComputePool.Close).
                var jobs = new[] { 2, 2, 2, 40 }.Select(count => new CountingJob(count, 1, pool.Workers)).ToArray();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (int run = 0; clock.Elapsed.TotalSeconds < 3; run++)
                {
                    var job = jobs[run % jobs.Length];
                    Array.Clear(job.Hits);
                    pool.Run(job, job.Hits.Length);
                    if (job.Hits.Any(hits => hits != 1) || job.BadChunks != 0)
                    {
                        incomplete++;
                    }
                }
        });
        worker.Start();
        Assert.True(worker.Join(TimeSpan.FromSeconds(30)), "a job of the pool never completed");
        Assert.Equal(0, incomplete);
        });
    }

    /// <summary>The caller's chunks take a while; a helper's chunk takes far longer, as if the helper were preempted.</summary>
    private sealed class SlowHelperJob : ParallelJob
    {
        public override void Execute(int start, int end, int worker)
        {
            if (worker == 0)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed.TotalMilliseconds < 0.5)
                {
                    Thread.SpinWait(10);
                }
            }
            else
            {
                Thread.Sleep(5);
            }
        }
    }

    [Fact]
    public void StallingHelpersShrinkTheWorkerCountForAWhileThenItIsTriedAgain()
    {
        using var pool = new ComputePool(2, "pool-test");
        var slow = new SlowHelperJob();
        for (int run = 0; run < 1280 && pool.ActiveWorkers == 2; run++)
        {
            pool.Run(slow, 8);
        }

        Assert.Equal(1, pool.ActiveWorkers);
        var job = new CountingJob(64, 1, pool.Workers);
        for (int run = 0; run < 1024; run++)
        {
            Array.Clear(job.Hits);
            pool.Run(job, 64);
            Assert.All(job.Hits, hits => Assert.Equal(1, hits));
        }

        Assert.Equal(2, pool.ActiveWorkers);
    }

    [Fact]
    public void AFailingChunkFailsItsJobAndThePoolRunsTheNextOne()
    {
        using var pool = new ComputePool(2, "pool-test");
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var failing = new CountingJob(1000, 1, pool.Workers) { ThrowAt = 1000 * attempt / 50 };
            var error = Assert.Throws<InvalidOperationException>(() => pool.Run(failing, 1000));
            Assert.Equal($"index {failing.ThrowAt}", error.Message);

            var next = new CountingJob(1000, 4, pool.Workers);
            pool.Run(next, 1000);
            Assert.All(next.Hits, hits => Assert.Equal(1, hits));
        }
    }
}
