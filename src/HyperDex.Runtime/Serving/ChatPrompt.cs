using HyperDex.Runtime.Templating;

namespace HyperDex.Runtime.Serving;

/// <summary>One chat message of a /v1/chat/completions request (text content only).</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// The chat path's one seam: messages → the prompt text the model was trained on, rendered with the chat template of
/// the compiled model folder (its tokenizer_config.json / chat_template.jinja) exactly as transformers'
/// apply_chat_template renders it, with the generation prompt added. The server encodes the result without adding
/// special tokens (the template writes them), as apply_chat_template(tokenize=True) does.
/// </summary>
public static class ChatPrompt
{
    /// <summary>
    /// Renders <paramref name="messages"/> with the model's chat template, ending with the assistant's generation prompt.
    /// A model without a template fails with ChatTemplateMissing, a template error with ChatTemplateError (both 400).
    /// </summary>
    public static string Render(string modelFolder, IReadOnlyList<ChatMessage> messages)
    {
        var templates = ChatPromptBuilder.Load(modelFolder);
        var input = new ChatTemplateInput
        {
            Messages = messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
            AddGenerationPrompt = true,
            SpecialTokens = templates.SpecialTokens,
        };
        return ChatPromptBuilder.Render(templates.Select(null), input);
    }
}
