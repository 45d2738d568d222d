using System.Text.Json;

namespace HyperDex.Runtime.Generation;

/// <summary>Server-Sent Events frames for an HTTP response body: one `data: {json}` frame per token, then `data: [DONE]`.</summary>
public static class SseFormatter
{
    public const string Done = "data: [DONE]\n\n";

    public static string Frame(GeneratedToken token)
    {
        var payload = new Dictionary<string, object?>
        {
            ["index"] = token.Index,
            ["token_id"] = token.TokenId,
            ["text"] = token.Text,
            ["logprob"] = token.Logprob,
            ["finish_reason"] = token.FinishReason?.ToName(),
        };
        return "data: " + JsonSerializer.Serialize(payload) + "\n\n";
    }
}
