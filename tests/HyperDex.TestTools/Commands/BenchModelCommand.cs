using System.Globalization;
using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>
/// `bench-model --model DIR --bandwidth B/s --peak-flops FLOP/s [--prompt 512] [--decode 128] [--reps 3] [--probe-mib 256]`:
/// measures one compiled model (see <see cref="ModelBenchmark"/>) and prints its figures and efficiencies as JSON. The
/// decode bandwidth efficiency is the median, over windows of 8 decode steps, of the window's bytes/s over the mean of
/// the read bandwidth probed right before and after it; the one against the run's machine figure (--bandwidth) is
/// reported beside it. Run one
/// model per process so the peak resident memory (VmHWM) is that model's, less the probe buffer resident throughout.
/// </summary>
public sealed class BenchModelCommand : ITestToolCommand
{
    public string Name => "bench-model";

    public int Run(ToolArguments arguments)
    {
        string model = Path.GetFullPath(arguments.Get("model"));
        double bandwidth = double.Parse(arguments.Get("bandwidth"), CultureInfo.InvariantCulture);
        double peakFlops = double.Parse(arguments.Get("peak-flops"), CultureInfo.InvariantCulture);
        long probeBytes = arguments.GetInt("probe-mib", 256) * (1L << 20);
        var probe = new ReadBandwidthProbe(probeBytes);
        var options = new ModelBenchmarkOptions
        {
            PromptTokens = arguments.GetInt("prompt", 512),
            DecodeTokens = arguments.GetInt("decode", 128),
            Repetitions = arguments.GetInt("reps", 3),
            BandwidthProbe = probe.ReadOnce,
        };

        var manifest = CompiledModelFiles.ReadManifest(model);
        var index = CompiledModelFiles.ReadParamIndex(model, 1, 0);
        string loadBefore = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var r = ModelBenchmark.Run(model, options);
        long peakResident = PeakResidentBytes() - probeBytes;
        probe.Dispose();
        string loadAfter = File.ReadAllText("/proc/loadavg").Split(' ')[0];

        long weightBytes = BenchMath.DecodeWeightBytes(index);
        double kvBytes = BenchMath.DecodeKvBytes(r.KvBytesPerPosition, options.PromptTokens, options.DecodeTokens);
        double decodeRate = options.DecodeTokens / r.DecodeSeconds;
        var windowEfficiency = r.DecodeWindows.Select(w => BenchMath.BandwidthEfficiency(weightBytes + kvBytes, w.Tokens / w.Seconds,
            (w.BandwidthBefore + w.BandwidthAfter) / 2)).ToList();
        var probed = r.DecodeWindows.Select(w => w.BandwidthBefore).ToList();
        double flops = BenchMath.PrefillFlops(manifest.Architecture, options.PromptTokens);
        var result = new
        {
            model,
            dtype = manifest.Dtype.ToUserName(),
            parameters = manifest.ParameterCount,
            promptTokens = options.PromptTokens,
            decodeTokens = options.DecodeTokens,
            repetitions = options.Repetitions,
            loadSeconds = r.LoadSeconds,
            prefillTokensPerSecond = options.PromptTokens / r.PrefillSeconds,
            timeToFirstTokenSeconds = r.TimeToFirstTokenSeconds,
            decodeTokensPerSecond = decodeRate,
            peakResidentBytes = peakResident,
            decodeWeightBytesPerToken = weightBytes,
            decodeKvBytesPerToken = kvBytes,
            decodeBandwidthEfficiency = BenchMath.Median(windowEfficiency),
            decodeBandwidthEfficiencySamples = windowEfficiency,
            decodeProbeBandwidth = BenchMath.Median(probed),
            decodeBandwidthSamples = probed,
            decodeBandwidthEfficiencyVsMachine = BenchMath.BandwidthEfficiency(weightBytes + kvBytes, decodeRate, bandwidth),
            prefillFlops = flops,
            prefillFlopsPerSecond = flops / r.PrefillSeconds,
            prefillFlopEfficiency = BenchMath.FlopEfficiency(flops, r.PrefillSeconds, peakFlops),
            prefillSecondsSamples = r.PrefillSamples,
            timeToFirstTokenSecondsSamples = r.TimeToFirstTokenSamples,
            decodeSecondsSamples = r.DecodeSamples,
            cpuShare = r.CpuShare,
            loadAverageBefore = double.Parse(loadBefore, CultureInfo.InvariantCulture),
            loadAverageAfter = double.Parse(loadAfter, CultureInfo.InvariantCulture),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>VmHWM of /proc/self/status: the process's peak resident set (mapped weights included once touched).</summary>
    private static long PeakResidentBytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
