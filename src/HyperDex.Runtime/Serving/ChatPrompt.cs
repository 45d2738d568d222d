using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Serving;

/// <summary>One chat message of a /v1/chat/completions request (text content only).</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// The chat path's one seam: messages → the prompt text the model was trained on, rendered with the chat template of
/// the compiled model folder (its tokenizer_config.json / chat_template.jinja). The server encodes the result without
/// adding special tokens (the template writes them), as HF's apply_chat_template does.
/// </summary>
public static class ChatPrompt
{
    /// <summary>ErrorId the server answers with 501 (not implemented) instead of 400.</summary>
    public const string UnavailableErrorId = "ChatTemplateUnavailable";

    /// <summary>
    /// Renders <paramref name="messages"/> with the model's chat template, ending with the assistant's generation prompt.
    /// </summary>
    /// <remarks>The Jinja chat-template renderer is being written separately; until it is wired in here, every call
    /// reports that chat is not available, and /v1/chat/completions answers 501.</remarks>
    public static string Render(string modelFolder, IReadOnlyList<ChatMessage> messages) =>
        throw new HdxException(UnavailableErrorId, HdxErrorKind.NotSupported,
            "chat completions need the chat-template renderer, which this build does not include yet", modelFolder,
            "Use /v1/completions with a prompt you format yourself.");
}
