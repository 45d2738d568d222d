using System.Diagnostics;
using HyperDex.Runtime.Engine;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// A streaming-read probe over a buffer far larger than the caches, allocated and touched once so it can be run again
/// and again: the benchmark reads it between decode steps, because on this shared VM the bandwidth drifts by tens of
/// percent within minutes (single reads from 27 to over 60 GB/s) and a decode figure is only comparable with the
/// bandwidth of its own moments.
/// The buffer asks for transparent huge pages, as the engine's mapped weights get them from the page cache's large
/// folios: with 4 KB pages the probe read about a fifth slower than the engine could, which flattered every ratio.
/// </summary>
public sealed unsafe class ReadBandwidthProbe : IDisposable
{
    private readonly HugePageMemory _memory;
    private readonly int* _buffer;
    private readonly long _words;
    private readonly int _threads = Environment.ProcessorCount;

    public ReadBandwidthProbe(long bufferBytes)
    {
        _words = bufferBytes / sizeof(int);
        _memory = new HugePageMemory(_words * sizeof(int));
        _buffer = (int*)_memory.Pointer;

        // Touch every page from the threads that will read it (first-touch placement), with non-zero data.
        Parallel.For(0, _threads, t =>
        {
            var (start, end) = MachineProbe.Slice(_words, _threads, t);
            for (long i = start; i < end; i++)
            {
                _buffer[i] = 1;
            }
        });
    }

    /// <summary>Bytes/s, the best of <paramref name="repetitions"/> reads of the whole buffer after one warm-up read.</summary>
    public double Measure(int repetitions)
    {
        ReadOnce();
        double best = 0;
        for (int rep = 0; rep < repetitions; rep++)
        {
            best = Math.Max(best, ReadOnce());
        }

        return best;
    }

    /// <summary>
    /// Bytes/s of one read of the whole buffer, split across every core: from the first thread's start to the last
    /// one's end, so starting the threads is not counted.
    /// </summary>
    public double ReadOnce()
    {
        var partial = new int[_threads];
        var starts = new long[_threads];
        var ends = new long[_threads];
        MachineProbe.RunOnThreads(_threads, t =>
        {
            var (start, end) = MachineProbe.Slice(_words, _threads, t);
            starts[t] = Stopwatch.GetTimestamp();
            partial[t] = MachineProbe.SumRange(_buffer + start, end - start);
            ends[t] = Stopwatch.GetTimestamp();
        });
        GC.KeepAlive(partial.Sum());
        double seconds = (ends.Max() - starts.Min()) / (double)Stopwatch.Frequency;
        return _words * sizeof(int) / seconds;
    }

    public void Dispose() => _memory.Dispose();
}
