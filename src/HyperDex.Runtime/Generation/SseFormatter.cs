using HyperDex.Runtime.Serving;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// One generation as a Server-Sent Events stream in OpenAI's format, as /v1/completions streams it: a
/// <c>text_completion</c> chunk per token (<c>data: {"id", "object", "created", "model", "choices": [{"index", "text",
/// "logprobs", "finish_reason"}]}</c>), then <c>data: [DONE]</c>. One formatter, one id, per prompt.
/// </summary>
public sealed class SseFormatter
{
    public const string Done = OpenAiJson.Done;

    private readonly ResponseHead _head;

    /// <param name="model">The "model" field of every chunk.</param>
    public SseFormatter(string model) => _head = ResponseHead.New(model, chat: false);

    /// <summary>The stream's id ("cmpl-...").</summary>
    public string Id => _head.Id;

    public string Frame(GeneratedToken token) => OpenAiJson.Frame(json =>
        OpenAiJson.Chunk(json, _head, token.Text, firstChat: false, null, token.TokenId, 0, null, token.FinishReason, usageNull: false));
}
