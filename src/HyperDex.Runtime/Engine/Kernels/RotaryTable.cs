namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// cos/sin of every position up to MaxLength for one rotary configuration, computed once at load in fp32 exactly as
/// HF's rotary embeddings do (inv_freq = 1 / theta^(2i/d) over the d = rotaryDim rotated values of a head,
/// optionally rescaled by "linear" or "llama3"). Applied to the first d values of each head, in HF's rotate-half
/// convention (pairs (i, i + d/2): Llama, NeoX, Phi, ...) or on interleaved pairs (2i, 2i + 1: GPT-J, Cohere).
/// </summary>
internal sealed class RotaryTable
{
    public const int ScalingNone = 0;
    public const int ScalingLinear = 1;
    public const int ScalingLlama3 = 2;

    /// <summary>The scaling of a program's `scaling` mode (<see cref="Compiled.OpSchemas.RopeScalings"/>).</summary>
    public static int Scaling(string name) => name switch
    {
        "none" => ScalingNone,
        "linear" => ScalingLinear,
        "llama3" => ScalingLlama3,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown rope scaling"),
    };

    private readonly float[] _cos;
    private readonly float[] _sin;
    private readonly int _half;

    private readonly int _rotaryDim;
    private readonly bool _interleaved;

    public RotaryTable(int headDim, int rotaryDim, bool interleaved, int maxLength, double theta, int scalingType, double factor,
        double lowFreqFactor, double highFreqFactor, double originalMaxPositions)
    {
        HeadDim = headDim;
        _rotaryDim = rotaryDim;
        _interleaved = interleaved;
        _half = rotaryDim / 2;
        float[] inverseFrequency = InverseFrequencies(rotaryDim, theta, scalingType, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
        _cos = new float[maxLength * _half];
        _sin = new float[maxLength * _half];
        for (int position = 0; position < maxLength; position++)
        {
            for (int i = 0; i < _half; i++)
            {
                float angle = position * inverseFrequency[i];
                _cos[position * _half + i] = MathF.Cos(angle);
                _sin[position * _half + i] = MathF.Sin(angle);
            }
        }
    }

    public int HeadDim { get; }

    /// <param name="headDim">The rotated dimensions (the rotary dim).</param>
    public static float[] InverseFrequencies(int headDim, double theta, int scalingType, double factor,
        double lowFreqFactor, double highFreqFactor, double originalMaxPositions)
    {
        int half = headDim / 2;
        var inverse = new float[half];
        for (int i = 0; i < half; i++)
        {
            inverse[i] = 1f / MathF.Pow((float)theta, 2 * i / (float)headDim);
        }

        switch (scalingType)
        {
            case ScalingNone:
                break;
            case ScalingLinear:
                for (int i = 0; i < half; i++)
                {
                    inverse[i] /= (float)factor;
                }

                break;
            case ScalingLlama3:
                // transformers' _compute_llama3_parameters
                double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
                double highFreqWavelength = originalMaxPositions / highFreqFactor;
                for (int i = 0; i < half; i++)
                {
                    double wavelength = 2 * Math.PI / inverse[i];
                    if (wavelength > lowFreqWavelength)
                    {
                        inverse[i] = (float)(inverse[i] / factor);
                    }
                    else if (wavelength >= highFreqWavelength)
                    {
                        double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                        inverse[i] = (float)((1 - smooth) * inverse[i] / factor + smooth * inverse[i]);
                    }
                }

                break;
            default:
                throw new InvalidOperationException($"rope scaling type {scalingType} is not supported");
        }

        return inverse;
    }

    /// <summary>Rotates each head of <paramref name="heads"/> (count × HeadDim) in place for <paramref name="position"/>.</summary>
    public void Apply(Span<float> heads, int position)
    {
        ReadOnlySpan<float> cos = _cos.AsSpan(position * _half, _half);
        ReadOnlySpan<float> sin = _sin.AsSpan(position * _half, _half);
        for (int offset = 0; offset < heads.Length; offset += HeadDim)
        {
            Span<float> head = heads.Slice(offset, _rotaryDim);
            if (_interleaved)
            {
                for (int i = 0; i < _half; i++)
                {
                    float x1 = head[2 * i];
                    float x2 = head[2 * i + 1];
                    head[2 * i] = x1 * cos[i] - x2 * sin[i];
                    head[2 * i + 1] = x2 * cos[i] + x1 * sin[i];
                }

                continue;
            }

            for (int i = 0; i < _half; i++)
            {
                float x1 = head[i];
                float x2 = head[i + _half];
                head[i] = x1 * cos[i] - x2 * sin[i];
                head[i + _half] = x2 * cos[i] + x1 * sin[i];
            }
        }
    }
}
