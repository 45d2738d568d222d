namespace HyperDex.Runtime.Generation;

/// <summary>Why a generation ended (lower-case names in output: eos, stop, length, cancelled).</summary>
public enum FinishReason
{
    /// <summary>The model produced an end-of-sequence id.</summary>
    Eos,

    /// <summary>The text reached one of the stop strings.</summary>
    Stop,

    /// <summary>MaxNewTokens were produced, or the sequence reached the model's MaxLength.</summary>
    Length,

    /// <summary>The caller cancelled (Ctrl+C).</summary>
    Cancelled,
}

public static class FinishReasonNames
{
    public static string ToName(this FinishReason reason) => reason switch
    {
        FinishReason.Eos => "eos",
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };
}
