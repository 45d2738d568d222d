using System.Globalization;
using System.Text;

namespace HyperDex.Runtime.Serving;

/// <summary>A Prometheus histogram of seconds with fixed buckets (cumulative on output), safe for concurrent observers.</summary>
internal sealed class LatencyHistogram
{
    private static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
    private readonly long[] _counts = new long[Bounds.Length + 1];
    private double _sum;
    private long _count;

    public void Observe(double seconds)
    {
        int bucket = 0;
        while (bucket < Bounds.Length && seconds > Bounds[bucket])
        {
            bucket++;
        }

        lock (_counts)
        {
            _counts[bucket]++;
            _sum += seconds;
            _count++;
        }
    }

    public void Write(StringBuilder text, string name, string labels)
    {
        lock (_counts)
        {
            long cumulative = 0;
            for (int i = 0; i < Bounds.Length; i++)
            {
                cumulative += _counts[i];
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"{Bounds[i]}\"}} {cumulative}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"+Inf\"}} {_count}\n");
            text.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {_sum}\n");
            text.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {_count}\n");
        }
    }
}
