namespace HyperDex;

/// <summary>One generated token, written by Start-HdxGeneration -Stream as soon as it is produced.</summary>
public sealed class TokenRecord
{
    internal TokenRecord(int index, int tokenId, string text, double logprob, TimeSpan elapsed, DateTime timestamp, string? finishReason, string prompt)
    {
        Index = index;
        TokenId = tokenId;
        Text = text;
        Logprob = logprob;
        ElapsedSeconds = elapsed.TotalSeconds;
        Timestamp = timestamp;
        FinishReason = finishReason;
        Prompt = prompt;
    }

    /// <summary>0 for the first generated token.</summary>
    public int Index { get; }

    public int TokenId { get; }

    /// <summary>The text that became printable with this token (empty while a character or a possible stop string is incomplete).</summary>
    public string Text { get; }

    /// <summary>Natural log of the token's probability under the distribution it was chosen from.</summary>
    public double Logprob { get; }

    /// <summary>Seconds from the start of the generation (prompt processing included) to this token.</summary>
    public double ElapsedSeconds { get; }

    /// <summary>When the token was produced (UTC).</summary>
    public DateTime Timestamp { get; }

    /// <summary>eos, stop or length on the last token; null before.</summary>
    public string? FinishReason { get; }

    public string Prompt { get; }
}
