using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.Runtime.Serving;

/// <summary>What every object of one response shares: its id ("cmpl-..." / "chatcmpl-..."), creation time and served model name.</summary>
internal sealed record ResponseHead(string Id, long Created, string Model, bool IsChat)
{
    public static ResponseHead New(string model, bool chat) =>
        new((chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model, chat);
}

/// <summary>Token counts of a response's usage object.</summary>
internal readonly record struct Usage(int PromptTokens, int CompletionTokens, int CachedTokens);

/// <summary>
/// OpenAI's response objects, written with Utf8JsonWriter: text_completion / chat.completion and their streamed
/// chunks (text_completion / chat.completion.chunk), usage, logprobs in each API's own shape, and the model list.
/// </summary>
internal static class OpenAiJson
{
    public const string Done = "data: [DONE]\n\n";

    /// <summary>OpenAI's finish_reason: an EOS id and a stop string both report "stop".</summary>
    public static string? FinishName(FinishReason? reason) => reason switch
    {
        FinishReason.Eos or FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => null,
    };

    public static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping: apostrophes and non-ASCII text stay readable; the output is never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(json);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One Server-Sent Events frame: <c>data: {json}</c> and a blank line.</summary>
    public static string Frame(Action<Utf8JsonWriter> write) => "data: " + Encoding.UTF8.GetString(Json(write)) + "\n\n";

    /// <summary>A chunk carrying one piece of text (and/or the finish reason); <paramref name="usageNull"/> adds "usage": null as OpenAI does when usage is coming last.</summary>
    public static void Chunk(Utf8JsonWriter json, ResponseHead head, string text, bool firstChat, TokenLogprobs? logprobs, int tokenId,
        int textOffset, IHdxTokenizer? tokenizer, FinishReason? finish, bool usageNull)
    {
        Start(json, head, head.IsChat ? "chat.completion.chunk" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        if (head.IsChat)
        {
            json.WriteStartObject("delta");
            if (firstChat)
            {
                json.WriteString("role", "assistant");
            }

            if (text.Length > 0 || firstChat)
            {
                json.WriteString("content", text);
            }

            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", text);
        }

        WriteLogprobs(json, head.IsChat, logprobs is null ? [] : [(tokenId, logprobs)], textOffset, tokenizer);
        WriteFinish(json, finish);
        json.WriteEndObject();
        json.WriteEndArray();
        if (usageNull)
        {
            json.WriteNull("usage");
        }

        json.WriteEndObject();
    }

    /// <summary>The last chunk of a stream with stream_options.include_usage: no choices, the usage.</summary>
    public static void UsageChunk(Utf8JsonWriter json, ResponseHead head, Usage usage)
    {
        Start(json, head, head.IsChat ? "chat.completion.chunk" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsage(json, usage);
        json.WriteEndObject();
    }

    /// <summary>A whole (non-streamed) response.</summary>
    public static void Response(Utf8JsonWriter json, ResponseHead head, string text, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)>? logprobs,
        IHdxTokenizer tokenizer, FinishReason? finish, Usage usage)
    {
        Start(json, head, head.IsChat ? "chat.completion" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        if (head.IsChat)
        {
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", text);
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", text);
        }

        WriteLogprobs(json, head.IsChat, logprobs ?? [], 0, logprobs is null ? null : tokenizer);
        WriteFinish(json, finish);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, usage);
        json.WriteEndObject();
    }

    public static void Models(Utf8JsonWriter json, IEnumerable<ServedModel> models)
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        foreach (var model in models)
        {
            json.WriteStartObject();
            json.WriteString("id", model.Name);
            json.WriteString("object", "model");
            json.WriteNumber("created", model.Created);
            json.WriteString("owned_by", "hyperdex");
            json.WriteNumber("max_model_len", model.Model.Engine.MaxLength);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Start(Utf8JsonWriter json, ResponseHead head, string type)
    {
        json.WriteStartObject();
        json.WriteString("id", head.Id);
        json.WriteString("object", type);
        json.WriteNumber("created", head.Created);
        json.WriteString("model", head.Model);
    }

    private static void WriteFinish(Utf8JsonWriter json, FinishReason? finish)
    {
        if (FinishName(finish) is { } name)
        {
            json.WriteString("finish_reason", name);
        }
        else
        {
            json.WriteNull("finish_reason");
        }
    }

    private static void WriteUsage(Utf8JsonWriter json, Usage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.PromptTokens);
        json.WriteNumber("completion_tokens", usage.CompletionTokens);
        json.WriteNumber("total_tokens", usage.PromptTokens + usage.CompletionTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", usage.CachedTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>
    /// Completions: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}; chat: {"content":
    /// [{"token", "logprob", "bytes", "top_logprobs": [...]}]}. Null when log-probabilities were not asked for.
    /// </summary>
    private static void WriteLogprobs(Utf8JsonWriter json, bool chat, IReadOnlyList<(int TokenId, TokenLogprobs Logprobs)> tokens, int textOffset,
        IHdxTokenizer? tokenizer)
    {
        if (tokenizer is null || tokens.Count == 0)
        {
            json.WriteNull("logprobs");
            return;
        }

        string Text(int id) => tokenizer.Decode([id]);
        json.WriteStartObject("logprobs");
        if (chat)
        {
            json.WriteStartArray("content");
            foreach (var (id, logprobs) in tokens)
            {
                ChatEntry(json, Text(id), logprobs.Logprob);
                json.WriteStartArray("top_logprobs");
                foreach (var (topId, topLogprob) in logprobs.Top)
                {
                    ChatEntry(json, Text(topId), topLogprob);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteStartArray("tokens");
            foreach (var (id, _) in tokens)
            {
                json.WriteStringValue(Text(id));
            }

            json.WriteEndArray();
            json.WriteStartArray("token_logprobs");
            foreach (var (_, logprobs) in tokens)
            {
                json.WriteNumberValue(logprobs.Logprob);
            }

            json.WriteEndArray();
            json.WriteStartArray("top_logprobs");
            foreach (var (_, logprobs) in tokens)
            {
                json.WriteStartObject();
                foreach (var (topId, topLogprob) in logprobs.Top)
                {
                    json.WriteNumber(Text(topId), topLogprob);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("text_offset");
            int offset = textOffset;
            foreach (var (id, _) in tokens)
            {
                json.WriteNumberValue(offset);
                offset += Text(id).Length;
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void ChatEntry(Utf8JsonWriter json, string token, float logprob)
    {
        json.WriteStartObject();
        json.WriteString("token", token);
        json.WriteNumber("logprob", logprob);
        json.WriteStartArray("bytes");
        foreach (byte b in Encoding.UTF8.GetBytes(token))
        {
            json.WriteNumberValue(b);
        }

        json.WriteEndArray();
    }
}
