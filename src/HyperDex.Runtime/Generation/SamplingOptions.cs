using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// HF generate's sampling parameters. Null means "the model's generation_config.json, else HF's default"
/// (<see cref="Resolve"/>). Temperature 0 is accepted and means greedy decoding (as llama.cpp and OpenAI-style APIs
/// treat it), where HF would raise an error.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>HF's defaults where generation_config.json is silent; MaxNewTokens is ours (HF stops at 20 tokens in total).</summary>
    public const double DefaultTemperature = 1.0;
    public const int DefaultTopK = 50;
    public const double DefaultTopP = 1.0;
    public const double DefaultRepetitionPenalty = 1.0;
    public const int DefaultMaxNewTokens = 256;

    public bool? DoSample { get; init; }

    public double? Temperature { get; init; }

    /// <summary>0 disables top-k, as in HF.</summary>
    public int? TopK { get; init; }

    public double? TopP { get; init; }

    public double? RepetitionPenalty { get; init; }

    /// <summary>Same seed, same model, same parameters → same tokens. Null: a fresh random seed.</summary>
    public int? Seed { get; init; }

    public int? MaxNewTokens { get; init; }

    /// <summary>Generation ends when the text contains one of these; the stop string itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = Array.Empty<string>();

    /// <summary>Fills unset values from the model's defaults, then HF's, and validates the result.</summary>
    public ResolvedSampling Resolve(GenerationDefaults defaults)
    {
        var resolved = new ResolvedSampling(
            DoSample ?? defaults.DoSample ?? false,
            Temperature ?? defaults.Temperature ?? DefaultTemperature,
            TopK ?? defaults.TopK ?? DefaultTopK,
            TopP ?? defaults.TopP ?? DefaultTopP,
            RepetitionPenalty ?? defaults.RepetitionPenalty ?? DefaultRepetitionPenalty,
            Seed ?? Random.Shared.Next(),
            MaxNewTokens ?? defaults.MaxNewTokens ?? DefaultMaxNewTokens,
            Stop);
        resolved.Validate();
        return resolved;
    }
}

/// <summary>Sampling parameters with every value decided.</summary>
public sealed record ResolvedSampling(bool DoSample, double Temperature, int TopK, double TopP, double RepetitionPenalty, int Seed,
    int MaxNewTokens, IReadOnlyList<string> Stop)
{
    /// <summary>Greedy when sampling is off or the temperature is 0.</summary>
    public bool IsGreedy => !DoSample || Temperature == 0;

    internal void Validate()
    {
        Check(double.IsFinite(Temperature) && Temperature >= 0, "Temperature", Temperature, "a number >= 0 (0 means greedy)");
        Check(TopK >= 0, "TopK", TopK, "an integer >= 0 (0 disables top-k)");
        Check(double.IsFinite(TopP) && TopP > 0 && TopP <= 1, "TopP", TopP, "a number in (0, 1]");
        Check(double.IsFinite(RepetitionPenalty) && RepetitionPenalty > 0, "RepetitionPenalty", RepetitionPenalty, "a number > 0 (1 means no penalty)");
        Check(MaxNewTokens >= 1, "MaxNewTokens", MaxNewTokens, "an integer >= 1");
        Check(Stop.All(s => !string.IsNullOrEmpty(s)), "Stop", string.Join(", ", Stop), "non-empty strings");
    }

    private static void Check(bool valid, string name, object value, string expected)
    {
        if (!valid)
        {
            throw new HdxException("InvalidSamplingParameter", HdxErrorKind.InvalidArgument,
                $"-{name} {value} is invalid: expected {expected}", name);
        }
    }
}
