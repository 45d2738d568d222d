using System.Numerics.Tensors;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>The gated-MLP activations, by the compiler's `activation` attribute code.</summary>
internal static class Activations
{
    public const int Silu = 0;

    /// <summary>gate ← act(gate) ⊙ up, in place.</summary>
    public static void GateInPlace(int activation, Span<float> gate, ReadOnlySpan<float> up)
    {
        if (activation != Silu)
        {
            throw new InvalidOperationException($"activation {activation} is not supported");
        }

        // silu(g) = g · sigmoid(g)
        Span<float> sigmoid = stackalloc float[1024];
        for (int i = 0; i < gate.Length; i += sigmoid.Length)
        {
            Span<float> chunk = gate.Slice(i, Math.Min(sigmoid.Length, gate.Length - i));
            Span<float> s = sigmoid[..chunk.Length];
            TensorPrimitives.Sigmoid(chunk, s);
            TensorPrimitives.Multiply(chunk, s, chunk);
        }

        TensorPrimitives.Multiply(gate, up, gate);
    }
}
