namespace HyperDex;

/// <summary>One finished generation, written by Start-HdxGeneration for each prompt.</summary>
public sealed class GenerationResult
{
    internal GenerationResult(string prompt, string text, int[] tokenIds, int promptTokens, string finishReason,
        TimeSpan timeToFirstToken, TimeSpan elapsed, double tokensPerSecond, int? seed, string model, int cachedTokens)
    {
        CachedTokens = cachedTokens;
        Prompt = prompt;
        Text = text;
        TokenIds = tokenIds;
        PromptTokens = promptTokens;
        FinishReason = finishReason;
        TimeToFirstTokenSeconds = timeToFirstToken.TotalSeconds;
        ElapsedSeconds = elapsed.TotalSeconds;
        TokensPerSecond = tokensPerSecond;
        Seed = seed;
        Model = model;
    }

    public string Prompt { get; }

    /// <summary>The generated text (without the prompt, special tokens or a matched stop string).</summary>
    public string Text { get; }

    /// <summary>The generated ids (an EOS id included when generation ended on it).</summary>
    public int[] TokenIds { get; }

    public int PromptTokens { get; }

    public int GeneratedTokens => TokenIds.Length;

    /// <summary>Prompt tokens whose keys and values came from the prefix cache instead of being computed.</summary>
    public int CachedTokens { get; }

    /// <summary>eos, stop, length or cancelled.</summary>
    public string FinishReason { get; }

    /// <summary>Seconds to process the prompt and produce the first token (a number, so JSON carries it as one).</summary>
    public double TimeToFirstTokenSeconds { get; }

    /// <summary>Seconds the whole generation took.</summary>
    public double ElapsedSeconds { get; }

    /// <summary>Decode speed: tokens after the first per second after the first.</summary>
    public double TokensPerSecond { get; }

    /// <summary>The seed used when sampling; null for greedy decoding.</summary>
    public int? Seed { get; }

    /// <summary>The compiled model folder.</summary>
    public string Model { get; }
}
