using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// Measures the machine's own limits in the benchmark's run, so engine figures are ratios against them:
/// streaming read bandwidth over a buffer far larger than the caches, and peak fp32 FMA throughput with
/// register-resident accumulators. Both use every core, as the engine does. Each reports the best of its runs: on a
/// shared machine the best run is the closest to the limit (a median would lower the bar by the other users' load).
/// </summary>
public static unsafe class MachineProbe
{
    /// <summary>Bytes/s of a multi-threaded streaming read (sum) of <paramref name="bufferBytes"/>, best of runs.</summary>
    public static double MeasureReadBandwidth(long bufferBytes = 1L << 30, int repetitions = 5)
    {
        using var probe = new ReadBandwidthProbe(bufferBytes);
        return probe.Measure(repetitions);
    }

    /// <summary>Peak fp32 FLOP/s (an FMA counts 2) with independent register accumulators, best of runs.</summary>
    public static double MeasurePeakFlops(int repetitions = 5)
    {
        int threads = Environment.ProcessorCount;
        const long iterations = 20_000_000;
        var samples = new List<double>();
        for (int rep = 0; rep < repetitions + 1; rep++)
        {
            long flopsPerThread = 0;
            var watch = Stopwatch.StartNew();
            RunOnThreads(threads, _ => Volatile.Write(ref flopsPerThread, FmaLoop(iterations)));
            watch.Stop();
            if (rep > 0)
            {
                samples.Add(flopsPerThread * (double)threads / watch.Elapsed.TotalSeconds);
            }
        }

        return samples.Max();
    }

    public static string VectorPath =>
        Avx512F.IsSupported ? "AVX-512" : Fma.IsSupported ? "AVX2+FMA" : Vector128.IsHardwareAccelerated ? "128-bit" : "scalar";

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static int SumRange(int* p, long count)
    {
        // Integer adds: the probe may read a weight image, whose bits as floats could be subnormal.
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= count; i += 64)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32);
                a3 += Vector512.Load(p + i + 48);
            }

            int s = Vector512.Sum(a0 + a1 + a2 + a3);
            for (; i < count; i++)
            {
                s += p[i];
            }

            return s;
        }

        Vector256<int> b0 = default, b1 = default, b2 = default, b3 = default;
        for (; i + 32 <= count; i += 32)
        {
            b0 += Vector256.Load(p + i);
            b1 += Vector256.Load(p + i + 8);
            b2 += Vector256.Load(p + i + 16);
            b3 += Vector256.Load(p + i + 24);
        }

        int sum = Vector256.Sum(b0 + b1 + b2 + b3);
        for (; i < count; i++)
        {
            sum += p[i];
        }

        return sum;
    }

    /// <summary>Returns the FLOPs done: 12 independent accumulators hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long FmaLoop(long iterations)
    {
        if (Avx512F.IsSupported)
        {
            var m = Vector512.Create(0.999999f);
            var c = Vector512.Create(1e-7f);
            Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
                a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
                a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
                a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
                a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
                a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
            }

            GC.KeepAlive(Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
            return iterations * 12 * 16 * 2;
        }

        if (Fma.IsSupported)
        {
            var m = Vector256.Create(0.999999f);
            var c = Vector256.Create(1e-7f);
            Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
                a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
                a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
                a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
                a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
                a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
            }

            GC.KeepAlive(Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
            return iterations * 12 * 8 * 2;
        }

        float s = 1f;
        for (long i = 0; i < iterations; i++)
        {
            s = (s * 0.999999f) + 1e-7f;
        }

        GC.KeepAlive(s);
        return iterations * 2;
    }

    internal static (long Start, long End) Slice(long count, int parts, int index) =>
        (count * index / parts, count * (index + 1) / parts);

    /// <summary>Dedicated threads started together, so each core runs exactly one worker.</summary>
    internal static void RunOnThreads(int count, Action<int> body)
    {
        using var start = new ManualResetEventSlim(false);
        var threads = Enumerable.Range(0, count).Select(t => new Thread(() =>
        {
            start.Wait();
            body(t);
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        start.Set();
        foreach (var thread in threads)
        {
            thread.Join();
        }
    }
}
