namespace HyperDex.Runtime.Serving;

/// <summary>
/// A parsed /v1/completions or /v1/chat/completions body: exactly the fields this server acts on, each checked for
/// type and range (<see cref="CompletionRequestParser"/>). Null means "not given".
/// </summary>
internal sealed record CompletionRequest
{
    public required bool IsChat { get; init; }

    public required string Model { get; init; }

    /// <summary>The prompt as text (completions), or null when given as token ids or as chat messages.</summary>
    public string? PromptText { get; init; }

    public int[]? PromptIds { get; init; }

    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    public int? MaxTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public int? TopK { get; init; }

    public double? RepetitionPenalty { get; init; }

    public int? Seed { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = Array.Empty<string>();

    public bool Stream { get; init; }

    /// <summary>stream_options.include_usage: a last chunk with usage and no choices.</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>Whether log-probabilities were asked for, and how many alternatives per token (0..20).</summary>
    public bool Logprobs { get; init; }

    public int TopLogprobs { get; init; }

    /// <summary>vLLM's ignore_eos: generate max_tokens even past an end-of-sequence id (benchmarks).</summary>
    public bool IgnoreEos { get; init; }
}
