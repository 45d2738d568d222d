using System.Diagnostics;
using System.Runtime.InteropServices;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// A streaming-read probe over a buffer far larger than the caches, allocated and touched once so it can be run again
/// and again: the benchmark measures the bandwidth right before and after each decode repetition, because on a
/// shared VM it drifts by tens of percent within minutes and a decode figure is only comparable with its own moment.
/// </summary>
public sealed unsafe class ReadBandwidthProbe : IDisposable
{
    private readonly float* _buffer;
    private readonly long _floats;
    private readonly int _threads = Environment.ProcessorCount;

    public ReadBandwidthProbe(long bufferBytes)
    {
        _floats = bufferBytes / sizeof(float);
        _buffer = (float*)NativeMemory.AlignedAlloc((nuint)(_floats * sizeof(float)), 64);

        // Touch every page from the threads that will read it (first-touch placement), with non-zero data.
        Parallel.For(0, _threads, t =>
        {
            var (start, end) = MachineProbe.Slice(_floats, _threads, t);
            for (long i = start; i < end; i++)
            {
                _buffer[i] = 1f;
            }
        });
    }

    /// <summary>Bytes/s, the best of <paramref name="repetitions"/> reads of the whole buffer after one warm-up read.</summary>
    public double Measure(int repetitions)
    {
        var samples = new List<double>();
        float sink = 0;
        for (int rep = 0; rep < repetitions + 1; rep++)
        {
            var partial = new float[_threads];
            var watch = Stopwatch.StartNew();
            MachineProbe.RunOnThreads(_threads, t =>
            {
                var (start, end) = MachineProbe.Slice(_floats, _threads, t);
                partial[t] = MachineProbe.SumRange(_buffer + start, end - start);
            });
            watch.Stop();
            sink += partial.Sum();
            if (rep > 0)
            {
                samples.Add(_floats * sizeof(float) / watch.Elapsed.TotalSeconds);
            }
        }

        GC.KeepAlive(sink);
        return samples.Max();
    }

    public void Dispose() => NativeMemory.AlignedFree(_buffer);
}
