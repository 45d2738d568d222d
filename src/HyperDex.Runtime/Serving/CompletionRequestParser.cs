using System.Text.Json;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// Reads an OpenAI completions / chat completions body. Fields a client may send at their neutral value (penalties of 0,
/// n = 1, echo false, ...) are accepted; asking for something this server does not do is a 400 naming the field, never
/// silently ignored. Unknown fields (user, metadata, ...) are ignored, as OpenAI-compatible servers do.
/// </summary>
internal static class CompletionRequestParser
{
    /// <summary>Most alternatives per token for logprobs, as vLLM allows.</summary>
    public const int MaxTopLogprobs = 20;

    public static CompletionRequest Parse(ReadOnlySpan<byte> body, bool chat)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException error)
        {
            throw OpenAiError.Invalid($"The request body is not valid JSON: {error.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiError.Invalid("The request body must be a JSON object.");
            }

            string model = String(root, "model") ?? throw OpenAiError.Invalid("'model' is required.", "model");
            RejectUnsupported(root, chat);
            bool stream = Bool(root, "stream") ?? false;
            bool includeUsage = false;
            if (Get(root, "stream_options") is { } options)
            {
                if (options.ValueKind != JsonValueKind.Object)
                {
                    throw OpenAiError.Invalid("'stream_options' must be an object.", "stream_options");
                }

                if (!stream)
                {
                    throw OpenAiError.Invalid("'stream_options' is only allowed when 'stream' is true.", "stream_options");
                }

                includeUsage = Bool(options, "include_usage", "stream_options.include_usage") ?? false;
            }

            var request = new CompletionRequest
            {
                IsChat = chat,
                Model = model,
                MaxTokens = Int(root, chat && Get(root, "max_completion_tokens") is not null ? "max_completion_tokens" : "max_tokens", 1, int.MaxValue),
                Temperature = Number(root, "temperature", 0, 2),
                TopP = Number(root, "top_p", double.Epsilon, 1),
                TopK = TopK(root),
                RepetitionPenalty = Number(root, "repetition_penalty", double.Epsilon, double.MaxValue),
                Seed = Seed(root),
                Stop = Stop(root),
                Stream = stream,
                IncludeUsage = includeUsage,
                IgnoreEos = Bool(root, "ignore_eos") ?? false,
            };

            request = chat ? ChatLogprobs(root, request) : CompletionLogprobs(root, request);
            return chat ? request with { Messages = Messages(root) } : Prompt(root, request);
        }
    }

    private static CompletionRequest Prompt(JsonElement root, CompletionRequest request)
    {
        JsonElement prompt = Get(root, "prompt") ?? throw OpenAiError.Invalid("'prompt' is required.", "prompt");
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return request with { PromptText = prompt.GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return request with { PromptText = prompt[0].GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.Array:
                return request with { PromptIds = TokenIds(prompt[0]) };
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.Number:
                return request with { PromptIds = TokenIds(prompt) };
            case JsonValueKind.Array when prompt.GetArrayLength() > 1:
                throw OpenAiError.Invalid("This server takes one prompt per request; send several requests (they are batched).", "prompt");
            default:
                throw OpenAiError.Invalid("'prompt' must be a string, an array of one string, or an array of token ids.", "prompt");
        }
    }

    private static int[] TokenIds(JsonElement array)
    {
        var ids = new int[array.GetArrayLength()];
        for (int i = 0; i < ids.Length; i++)
        {
            if (!array[i].TryGetInt32(out ids[i]) || ids[i] < 0)
            {
                throw OpenAiError.Invalid("Token ids in 'prompt' must be non-negative integers.", "prompt");
            }
        }

        if (ids.Length == 0)
        {
            throw OpenAiError.Invalid("'prompt' must not be an empty array.", "prompt");
        }

        return ids;
    }

    private static List<ChatMessage> Messages(JsonElement root)
    {
        JsonElement messages = Get(root, "messages") ?? throw OpenAiError.Invalid("'messages' is required.", "messages");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw OpenAiError.Invalid("'messages' must be a non-empty array.", "messages");
        }

        var result = new List<ChatMessage>();
        int index = 0;
        foreach (JsonElement message in messages.EnumerateArray())
        {
            string param = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiError.Invalid($"'{param}' must be an object.", param);
            }

            string role = String(message, "role", param + ".role") ?? throw OpenAiError.Invalid($"'{param}.role' is required.", param + ".role");
            if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
            {
                throw OpenAiError.Invalid($"'{param}.role' must be system, developer, user, assistant or tool, not '{role}'.", param + ".role");
            }

            result.Add(new ChatMessage(role, Content(Get(message, "content"), param + ".content")));
        }

        return result;
    }

    /// <summary>A message's content: a string, or an array of text parts (joined); other part types are refused.</summary>
    private static string Content(JsonElement? content, string param)
    {
        switch (content?.ValueKind)
        {
            case null or JsonValueKind.Null:
                return string.Empty;
            case JsonValueKind.String:
                return content.Value.GetString()!;
            case JsonValueKind.Array:
                var text = new System.Text.StringBuilder();
                foreach (JsonElement part in content.Value.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || String(part, "type", param) != "text")
                    {
                        throw OpenAiError.Invalid($"'{param}' may only hold text parts; this model takes text only.", param);
                    }

                    text.Append(String(part, "text", param) ?? string.Empty);
                }

                return text.ToString();
            default:
                throw OpenAiError.Invalid($"'{param}' must be a string or an array of text parts.", param);
        }
    }

    private static CompletionRequest CompletionLogprobs(JsonElement root, CompletionRequest request)
    {
        int? count = Int(root, "logprobs", 0, MaxTopLogprobs);
        return request with { Logprobs = count is not null, TopLogprobs = count ?? 0 };
    }

    private static CompletionRequest ChatLogprobs(JsonElement root, CompletionRequest request)
    {
        bool wanted = Bool(root, "logprobs") ?? false;
        int? top = Int(root, "top_logprobs", 0, MaxTopLogprobs);
        if (top is not null && !wanted)
        {
            throw OpenAiError.Invalid("'top_logprobs' needs 'logprobs': true.", "top_logprobs");
        }

        return request with { Logprobs = wanted, TopLogprobs = top ?? 0 };
    }

    /// <summary>top_k: vLLM's extension; -1 and 0 both mean "off".</summary>
    private static int? TopK(JsonElement root)
    {
        int? value = Int(root, "top_k", -1, int.MaxValue);
        return value is -1 ? 0 : value;
    }

    /// <summary>Any integer seed is accepted; it is folded to 32 bits for the sampler.</summary>
    private static int? Seed(JsonElement root)
    {
        if (Get(root, "seed") is not { } seed)
        {
            return null;
        }

        if (seed.ValueKind != JsonValueKind.Number || !seed.TryGetInt64(out long value))
        {
            throw OpenAiError.Invalid("'seed' must be an integer.", "seed");
        }

        return unchecked((int)(value ^ (value >> 32)));
    }

    private static string[] Stop(JsonElement root)
    {
        switch (Get(root, "stop"))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.String } one:
                return NonEmpty([one.GetString()!]);
            case { ValueKind: JsonValueKind.Array } many when many.GetArrayLength() <= 4 && many.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                return NonEmpty(many.EnumerateArray().Select(e => e.GetString()!).ToArray());
            default:
                throw OpenAiError.Invalid("'stop' must be a string or an array of up to 4 strings.", "stop");
        }

        static string[] NonEmpty(string[] stops) => stops.Any(string.IsNullOrEmpty)
            ? throw OpenAiError.Invalid("'stop' strings must not be empty.", "stop")
            : stops;
    }

    /// <summary>Refuses OpenAI features this server does not provide unless they are sent at their neutral value.</summary>
    private static void RejectUnsupported(JsonElement root, bool chat)
    {
        if (Int(root, "n", 1, int.MaxValue) is > 1)
        {
            throw OpenAiError.Invalid("Only n = 1 is supported; send several requests instead.", "n");
        }

        foreach (string penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            if (Number(root, penalty, -2, 2) is { } value && value != 0)
            {
                throw OpenAiError.Invalid($"'{penalty}' is not supported; use 'repetition_penalty'.", penalty);
            }
        }

        if (Get(root, "logit_bias") is { ValueKind: JsonValueKind.Object } bias && bias.EnumerateObject().Any())
        {
            throw OpenAiError.Invalid("'logit_bias' is not supported.", "logit_bias");
        }

        if (chat && Get(root, "tools") is { ValueKind: JsonValueKind.Array } tools && tools.GetArrayLength() > 0)
        {
            throw OpenAiError.Invalid("'tools' is not supported.", "tools");
        }

        if (!chat)
        {
            if (Bool(root, "echo") is true)
            {
                throw OpenAiError.Invalid("'echo' is not supported.", "echo");
            }

            if (Int(root, "best_of", 1, int.MaxValue) is > 1)
            {
                throw OpenAiError.Invalid("Only best_of = 1 is supported.", "best_of");
            }

            if (String(root, "suffix") is { Length: > 0 })
            {
                throw OpenAiError.Invalid("'suffix' is not supported.", "suffix");
            }
        }
    }

    private static JsonElement? Get(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? String(JsonElement parent, string name, string? param = null) => Get(parent, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw OpenAiError.Invalid($"'{param ?? name}' must be a string.", param ?? name),
    };

    private static bool? Bool(JsonElement parent, string name, string? param = null) => Get(parent, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw OpenAiError.Invalid($"'{param ?? name}' must be a boolean.", param ?? name),
    };

    private static double? Number(JsonElement parent, string name, double min, double max)
    {
        if (Get(parent, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || number < min || number > max)
        {
            throw OpenAiError.Invalid($"'{name}' must be a number from {min} to {max}.", name);
        }

        return number;
    }

    private static int? Int(JsonElement parent, string name, int min, int max)
    {
        if (Get(parent, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number) || number < min || number > max)
        {
            throw OpenAiError.Invalid(max == int.MaxValue ? $"'{name}' must be an integer >= {min}." : $"'{name}' must be an integer from {min} to {max}.", name);
        }

        return number;
    }
}
