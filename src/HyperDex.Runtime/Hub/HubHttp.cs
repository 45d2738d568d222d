using System.Net;
using System.Net.Http.Headers;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// The HTTP side of the Hub client: one HttpClient, the token only for the endpoint's own origin (never for a CDN
/// or any other host a redirect points to), redirects followed by hand, bounded retries with exponential backoff,
/// and a stall timeout that restarts whenever bytes arrive.
/// </summary>
internal sealed class HubHttp : IDisposable
{
    private static readonly ProductInfoHeaderValue UserAgent = new("hyperdex-powershell", typeof(HubHttp).Assembly.GetName().Version?.ToString(3) ?? "0");

    private readonly HubSettings _settings;
    private readonly HttpClient _client;

    public HubHttp(HubSettings settings)
    {
        _settings = settings;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = settings.StallTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public HubSettings Settings => _settings;

    /// <summary>Whether a request to <paramref name="uri"/> carries the token: only the endpoint's scheme, host and port.</summary>
    public bool SendsTokenTo(Uri uri) => _settings.Token is not null
        && Uri.Compare(uri, _settings.Endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>
    /// Sends a request and returns the response with its headers read. Relative redirects (a renamed repository) are
    /// always followed; absolute ones (a CDN) only when <paramref name="followAbsoluteRedirects"/>, as huggingface_hub's
    /// HEAD does not follow them but reads X-Linked-* from the redirect itself.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, long rangeStart, bool followAbsoluteRedirects,
        CancellationToken cancellationToken)
    {
        for (int hop = 0; ; hop++)
        {
            if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new HdxException("HubInvalidResponse", HdxErrorKind.InvalidData,
                    $"The Hub pointed a download at a '{uri.Scheme}:' address; only http and https are followed.", uri.Scheme,
                    "Check HF_ENDPOINT: the server is not behaving like the Hugging Face Hub.");
            }

            using var request = new HttpRequestMessage(method, uri);
            request.Headers.UserAgent.Add(UserAgent);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (SendsTokenTo(uri))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _settings.Token);
            }

            if (rangeStart > 0)
            {
                request.Headers.Range = new RangeHeaderValue(rangeStart, null);
            }

            var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location && hop < 10
                && (!location.IsAbsoluteUri || followAbsoluteRedirects))
            {
                response.Dispose();
                uri = new Uri(uri, location);
                continue;
            }

            return response;
        }
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, fails for good, or <see cref="HubSettings.MaxAttempts"/>
    /// transient failures (connection errors, dropped or stalled transfers, 429 and 5xx answers) have happened.
    /// Each attempt gets a <see cref="HubStall"/> it must touch whenever it makes progress.
    /// </summary>
    public async Task<T> RetryAsync<T>(HubRepoId repo, string what, Func<HubStall, Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (int number = 1; ; number++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stall = new HubStall(_settings.StallTimeout, cancellationToken);
            try
            {
                return await attempt(stall).ConfigureAwait(false);
            }
            catch (Exception error) when (IsTransient(error, cancellationToken))
            {
                if (number >= _settings.MaxAttempts)
                {
                    throw error is HubTransientStatusException status ? status.Final : HubErrors.ConnectionFailed(repo, what, number, Describe(error));
                }

                double delay = Math.Min(_settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, number - 1), _settings.RetryMaxDelay.TotalMilliseconds);
                await Task.Delay(TimeSpan.FromMilliseconds(delay), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(Exception error, CancellationToken cancellationToken) => error switch
    {
        HubTransientStatusException or HttpRequestException or IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // the stall timer, not the user
        _ => false,
    };

    private static Exception Describe(Exception error) =>
        error is OperationCanceledException ? new TimeoutException("no data arrived for the stall timeout", error) : error;

    public void Dispose() => _client.Dispose();
}

/// <summary>Cancels an attempt that makes no progress for the stall timeout; <see cref="Touch"/> restarts the clock.</summary>
internal sealed class HubStall : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly TimeSpan _timeout;

    public HubStall(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _timeout = timeout;
        _source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _source.CancelAfter(timeout);
    }

    public CancellationToken Token => _source.Token;

    public void Touch() => _source.CancelAfter(_timeout);

    public void Dispose() => _source.Dispose();
}

/// <summary>A 429 or 5xx answer: retried, and <see cref="Final"/> is thrown when the attempts run out.</summary>
internal sealed class HubTransientStatusException(HdxException final) : Exception(final.Message)
{
    public HdxException Final { get; } = final;
}
