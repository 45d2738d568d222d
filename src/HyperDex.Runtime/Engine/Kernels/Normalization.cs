using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// RMSNorm and LayerNorm as HF computes them in fp32. The statistics are split from their application so a norm
/// whose row is spread over several devices (a whole-projection q/k norm) can add up every device's sums first.
/// </summary>
internal static class Normalization
{
    /// <summary>Σx and Σx² of one group, the statistics of either norm.</summary>
    public static (double Sum, double SumOfSquares) Sums(ReadOnlySpan<float> x) => (TensorPrimitives.Sum(x), TensorPrimitives.SumOfSquares(x));

    /// <summary>
    /// (mean, 1/σ) from the sums over <paramref name="count"/> values: RMSNorm uses mean 0 and rsqrt(mean(x²) + eps);
    /// LayerNorm the biased variance, as torch does.
    /// </summary>
    public static (float Mean, float InverseDeviation) Statistics(bool layerNorm, double sum, double sumOfSquares, int count, float eps)
    {
        double mean = layerNorm ? sum / count : 0;
        double variance = sumOfSquares / count - mean * mean;
        return ((float)mean, (float)(1 / Math.Sqrt(Math.Max(0, variance) + eps)));
    }

    /// <summary>destination = (x − mean) · inverse · weight + bias; an empty weight or bias is skipped.</summary>
    public static void Apply(ReadOnlySpan<float> x, float mean, float inverse, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> destination)
    {
        if (mean != 0)
        {
            TensorPrimitives.Subtract(x, mean, destination);
            TensorPrimitives.Multiply(destination, inverse, destination);
        }
        else
        {
            TensorPrimitives.Multiply(x, inverse, destination);
        }

        if (!weight.IsEmpty)
        {
            TensorPrimitives.Multiply(destination, weight, destination);
        }

        if (!bias.IsEmpty)
        {
            TensorPrimitives.Add(destination, bias, destination);
        }
    }
}
