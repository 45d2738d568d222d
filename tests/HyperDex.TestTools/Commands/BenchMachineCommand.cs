using System.Text.Json;
using HyperDex.TestTools.Bench;

namespace HyperDex.TestTools.Commands;

/// <summary>`bench-machine [--buffer-mib 1024]`: prints the machine's read bandwidth and peak FMA rate as JSON.</summary>
public sealed class BenchMachineCommand : ITestToolCommand
{
    public string Name => "bench-machine";

    public int Run(ToolArguments arguments)
    {
        long bufferBytes = arguments.GetInt("buffer-mib", 1024) * (1L << 20);
        var result = new
        {
            cores = Environment.ProcessorCount,
            vectorPath = MachineProbe.VectorPath,
            readBandwidthBytesPerSecond = MachineProbe.MeasureReadBandwidth(bufferBytes),
            peakFlopsPerSecond = MachineProbe.MeasurePeakFlops(),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }
}
