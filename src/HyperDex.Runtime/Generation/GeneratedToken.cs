namespace HyperDex.Runtime.Generation;

/// <summary>
/// One generated token as it is produced: the text that became printable with it (may be empty while a UTF-8
/// character or a possible stop string is incomplete), its log-probability under the distribution it was chosen
/// from, the time since the generation started and, on the last token, why generation ended.
/// </summary>
public readonly record struct GeneratedToken(int Index, int TokenId, string Text, float Logprob, TimeSpan Elapsed,
    DateTime Timestamp, FinishReason? FinishReason);
