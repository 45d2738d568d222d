namespace HyperDex.Runtime.Hub;

/// <summary>
/// Where the Hub client talks to and caches, resolved like huggingface_hub's constants.py: HF_ENDPOINT, HF_TOKEN
/// (then the token file), HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE. A class, not a record: a generated ToString must
/// never print the token.
/// </summary>
public sealed class HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public HubSettings(Uri endpoint, string cacheDirectory, string? token = null, bool offline = false)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/");
        CacheDirectory = Path.GetFullPath(cacheDirectory);
        Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        Offline = offline;
    }

    /// <summary>The Hub or a mirror, always ending with '/'.</summary>
    public Uri Endpoint { get; }

    /// <summary>The huggingface_hub cache root holding models--org--name folders.</summary>
    public string CacheDirectory { get; }

    /// <summary>Sent only as a Bearer header to <see cref="Endpoint"/>'s host; never printed.</summary>
    internal string? Token { get; }

    public bool HasToken => Token is not null;

    public bool Offline { get; }

    /// <summary>Files downloaded at the same time.</summary>
    public int MaxParallelDownloads { get; init; } = 4;

    /// <summary>Attempts per request before a network failure is final (huggingface_hub retries 5 times).</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>How long a connect, a response or a read may stall (HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT: 10 s).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Settings from the environment. <paramref name="token"/> (the -Token parameter) wins over HF_TOKEN, which wins
    /// over the token file (HF_TOKEN_PATH, default HF_HOME/token) written by `hf auth login`.
    /// </summary>
    public static HubSettings FromEnvironment(string? token = null, bool offline = false, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Env(string name) => environment(name) is { Length: > 0 } value ? value : null;

        string endpoint = Env("HF_ENDPOINT") ?? DefaultEndpoint;
        if (!Uri.TryCreate(endpoint.TrimEnd('/'), UriKind.Absolute, out var endpointUri)
            || (endpointUri.Scheme != Uri.UriSchemeHttps && endpointUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new Diagnostics.HdxException("HubInvalidEndpoint", Diagnostics.HdxErrorKind.InvalidArgument,
                $"HF_ENDPOINT '{endpoint}' is not an http(s) URL.", endpoint, "Set HF_ENDPOINT to the Hub or a mirror, for example https://huggingface.co.");
        }

        string home = ExpandHome(Env("HF_HOME")
            ?? Path.Combine(Env("XDG_CACHE_HOME") ?? Path.Combine(HomeDirectory(), ".cache"), "huggingface"));
        string cache = ExpandHome(Env("HF_HUB_CACHE") ?? Env("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub"));
        string tokenPath = ExpandHome(Env("HF_TOKEN_PATH") ?? Path.Combine(home, "token"));

        string? resolvedToken = string.IsNullOrWhiteSpace(token) ? null : token;
        resolvedToken ??= Env("HF_TOKEN") ?? Env("HUGGING_FACE_HUB_TOKEN");
        resolvedToken ??= ReadTokenFile(tokenPath);

        bool offlineFromEnvironment = IsTrue(Env("HF_HUB_OFFLINE")) || IsTrue(Env("TRANSFORMERS_OFFLINE"));
        return new HubSettings(endpointUri, cache, resolvedToken, offline || offlineFromEnvironment);
    }

    // huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case.
    private static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? ReadTokenFile(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string HomeDirectory() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal) ? HomeDirectory() + path[1..] : path;
}
