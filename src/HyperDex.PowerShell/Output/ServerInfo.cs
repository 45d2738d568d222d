namespace HyperDex;

/// <summary>A running (or just stopped) HTTP server of this session, written by Start-, Get- and Stop-HdxServer.</summary>
public sealed class ServerInfo
{
    internal ServerInfo(int id, string url, string[] models, string state, DateTime startTime, long requests, int running, int queued,
        int maxConcurrentRequests, int maxQueuedRequests, bool apiKeyRequired, int kvBlocks, int kvBlocksInUse)
    {
        Id = id;
        Url = url;
        Models = models;
        State = state;
        StartTime = startTime;
        Requests = requests;
        Running = running;
        Queued = queued;
        MaxConcurrentRequests = maxConcurrentRequests;
        MaxQueuedRequests = maxQueuedRequests;
        ApiKeyRequired = apiKeyRequired;
        KvBlocks = kvBlocks;
        KvBlocksInUse = kvBlocksInUse;
    }

    /// <summary>The session's number for the server (Stop-HdxServer -Id).</summary>
    public int Id { get; }

    /// <summary>Base URL; the OpenAI API is under Url + "v1".</summary>
    public string Url { get; }

    /// <summary>Served model names: the only names requests can use.</summary>
    public string[] Models { get; }

    /// <summary>Running or Stopped.</summary>
    public string State { get; }

    public DateTime StartTime { get; }

    /// <summary>HTTP requests answered so far.</summary>
    public long Requests { get; }

    /// <summary>Requests generating now.</summary>
    public int Running { get; }

    /// <summary>Requests waiting for a slot.</summary>
    public int Queued { get; }

    public int MaxConcurrentRequests { get; }

    public int MaxQueuedRequests { get; }

    /// <summary>Whether /v1 requests need the Bearer API key.</summary>
    public bool ApiKeyRequired { get; }

    /// <summary>KV cache blocks of the served models' pools.</summary>
    public int KvBlocks { get; }

    /// <summary>KV cache blocks held by running generations (0 when idle: every block is back in the pool).</summary>
    public int KvBlocksInUse { get; }
}
