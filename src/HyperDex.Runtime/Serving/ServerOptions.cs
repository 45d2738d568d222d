namespace HyperDex.Runtime.Serving;

/// <summary>How <see cref="HdxServer"/> listens and admits requests.</summary>
public sealed record ServerOptions
{
    public const int DefaultPort = 8000;

    /// <summary>IP address or host name to listen on; 0.0.0.0 / :: / * listen on every interface.</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="HdxServer.Url"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Bearer token every /v1 request must carry; null or empty: no authentication.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Requests generating at once (over all models); more wait in the queue.</summary>
    public int MaxConcurrentRequests { get; init; } = 32;

    /// <summary>Requests waiting for a slot; beyond that the server answers 429.</summary>
    public int MaxQueuedRequests { get; init; } = 128;

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBytes { get; init; } = 4 << 20;

    /// <summary>messages → prompt text for a model folder; <see cref="ChatPrompt.Render"/> unless a caller supplies another.</summary>
    public Func<string, IReadOnlyList<ChatMessage>, string> ChatRenderer { get; init; } = ChatPrompt.Render;

    /// <summary>Receives one line per request (and its prompt); only set when the user asked for verbose output.</summary>
    public Action<string>? Log { get; init; }
}
