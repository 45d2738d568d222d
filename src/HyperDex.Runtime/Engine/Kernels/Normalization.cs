using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>RMSNorm as HF LlamaRMSNorm computes it in fp32: x · rsqrt(mean(x²) + eps) · weight.</summary>
internal static class Normalization
{
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> destination)
    {
        float meanSquare = TensorPrimitives.SumOfSquares(x) / x.Length;
        float inverse = 1f / MathF.Sqrt(meanSquare + eps);
        TensorPrimitives.Multiply(x, inverse, destination);
        TensorPrimitives.Multiply(destination, weight, destination);
    }
}
