using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>The MLP activations, by the names the programs use (<see cref="Compiled.OpSchemas.ActivationNames"/>).</summary>
internal enum ActivationKind
{
    Silu,

    /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)) (HF "gelu").</summary>
    Gelu,

    /// <summary>The tanh approximation (HF "gelu_new", "gelu_pytorch_tanh", "gelu_fast").</summary>
    GeluTanh,

    Relu,
}

internal static class Activations
{
    public static ActivationKind Parse(string name) => name switch
    {
        "silu" => ActivationKind.Silu,
        "gelu" => ActivationKind.Gelu,
        "gelu_tanh" => ActivationKind.GeluTanh,
        "relu" => ActivationKind.Relu,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown activation"),
    };

    /// <summary>gate ← act(gate) ⊙ up, in place.</summary>
    public static void GateInPlace(ActivationKind activation, Span<float> gate, ReadOnlySpan<float> up)
    {
        ApplyInPlace(activation, gate);
        TensorPrimitives.Multiply(gate, up, gate);
    }

    /// <summary>x ← act(x), in place.</summary>
    public static void ApplyInPlace(ActivationKind activation, Span<float> x)
    {
        Span<float> scratch = stackalloc float[1024];
        for (int i = 0; i < x.Length; i += scratch.Length)
        {
            Span<float> chunk = x.Slice(i, Math.Min(scratch.Length, x.Length - i));
            Span<float> s = scratch[..chunk.Length];
            switch (activation)
            {
                case ActivationKind.Silu:
                    // silu(g) = g · sigmoid(g)
                    TensorPrimitives.Sigmoid(chunk, s);
                    TensorPrimitives.Multiply(chunk, s, chunk);
                    break;
                case ActivationKind.GeluTanh:
                    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
                    TensorPrimitives.Multiply(chunk, chunk, s);
                    TensorPrimitives.Multiply(s, 0.044715f, s);
                    TensorPrimitives.Add(s, 1f, s);
                    TensorPrimitives.Multiply(s, chunk, s);
                    TensorPrimitives.Multiply(s, 0.7978845608028654f, s);
                    TensorPrimitives.Tanh(s, s);
                    TensorPrimitives.Add(s, 1f, s);
                    TensorPrimitives.Multiply(s, 0.5f, s);
                    TensorPrimitives.Multiply(chunk, s, chunk);
                    break;
                case ActivationKind.Gelu:
                    foreach (ref float value in chunk)
                    {
                        value = (float)(0.5 * value * (1 + Erf(value * 0.7071067811865476)));
                    }

                    break;
                case ActivationKind.Relu:
                    TensorPrimitives.Max(chunk, 0f, chunk);
                    break;
            }
        }
    }

    /// <summary>
    /// erf in double with a fractional error below 1.2e-7 everywhere (Numerical Recipes' erfc Chebyshev fit): well
    /// inside fp32's precision, which is all the exact GELU needs. .NET has no Math.Erf.
    /// </summary>
    internal static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - erfc : erfc - 1;
    }
}
