using System.Text.Json;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// A request the server refuses, as OpenAI reports it: an HTTP status and an error object
/// <c>{"error": {"message", "type", "param", "code"}}</c>. Messages never carry a stack trace or the API key.
/// </summary>
internal sealed class OpenAiError : Exception
{
    private OpenAiError(int status, string type, string message, string? param = null, string? code = null)
        : base(message)
    {
        Status = status;
        Type = type;
        Param = param;
        Code = code;
    }

    public int Status { get; }

    public string Type { get; }

    public string? Param { get; }

    public string? Code { get; }

    public static OpenAiError Invalid(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", message, param, code);

    public static OpenAiError ContextLength(string message, string param) =>
        new(400, "invalid_request_error", message, param, "context_length_exceeded");

    public static OpenAiError Unauthorized() =>
        new(401, "invalid_request_error", "Incorrect or missing API key: send the header 'Authorization: Bearer <key>'.", code: "invalid_api_key");

    public static OpenAiError ModelNotFound(string model) =>
        new(404, "invalid_request_error", $"The model '{model}' does not exist.", "model", "model_not_found");

    public static OpenAiError UnknownRoute(string method, string path) =>
        new(404, "invalid_request_error", $"Invalid URL ({method} {path})", code: "unknown_url");

    public static OpenAiError MethodNotAllowed(string method, string path) =>
        new(405, "invalid_request_error", $"Method {method} is not allowed for {path}", code: "method_not_allowed");

    public static OpenAiError TooLarge(long limit) =>
        new(413, "invalid_request_error", $"The request body exceeds the server's limit of {limit} bytes.", code: "request_too_large");

    public static OpenAiError QueueFull() =>
        new(429, "rate_limit_exceeded", "The server is at its limit of running and queued requests; retry later.", code: "rate_limit_exceeded");

    public static OpenAiError Internal() =>
        new(500, "server_error", "The server had an error while processing the request.", code: "internal_error");

    public static OpenAiError NotImplemented(string message) =>
        new(501, "not_implemented", message, code: "not_implemented");

    public static OpenAiError Unavailable(string message) =>
        new(503, "server_error", message, code: "service_unavailable");

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", Message);
        json.WriteString("type", Type);
        WriteNullable(json, "param", Param);
        WriteNullable(json, "code", Code);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
