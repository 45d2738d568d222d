using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// An OpenAI-compatible HTTP/1.1 server over compiled models, on System.Net.HttpListener (see DESIGN.md, "Serving").
/// Routes: GET /health, GET /metrics, GET /v1/models, POST /v1/completions, POST /v1/chat/completions. Requests run
/// on the thread pool; each model's generations step together in its <see cref="BatchScheduler"/>. Servers of the
/// process are listed by <see cref="All"/> until stopped.
/// </summary>
public sealed class HdxServer : IDisposable
{
    private static readonly List<HdxServer> Servers = new();
    private static int _lastId;

    private readonly HttpListener _listener;
    private readonly ServerOptions _options;
    private readonly ServedModel[] _models;
    private readonly ServerMetrics _metrics = new();
    private readonly CompletionHandler _completions;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots;
    private readonly byte[]? _apiKey;
    private Task _accepting = Task.CompletedTask;
    private int _queued;
    private int _handling;
    private int _stopping;
    private volatile bool _draining;

    private HdxServer(HttpListener listener, ServerOptions options, ServedModel[] models, string url)
    {
        _listener = listener;
        _options = options;
        _models = models;
        _slots = new SemaphoreSlim(options.MaxConcurrentRequests, options.MaxConcurrentRequests);
        _apiKey = string.IsNullOrEmpty(options.ApiKey) ? null : Encoding.UTF8.GetBytes(options.ApiKey);
        _completions = new CompletionHandler(this, options, _metrics);
        Url = url;
        StartTime = DateTime.Now;
        Id = Interlocked.Increment(ref _lastId);
    }

    /// <summary>The process's running servers, oldest first.</summary>
    public static IReadOnlyList<HdxServer> All
    {
        get
        {
            lock (Servers)
            {
                return Servers.ToList();
            }
        }
    }

    public int Id { get; }

    /// <summary>The base URL clients use (http://address:port/), with the port actually bound.</summary>
    public string Url { get; }

    public DateTime StartTime { get; }

    public IReadOnlyList<ServedModel> Models => _models;

    public bool IsRunning => !_stop.IsCancellationRequested;

    public bool RequiresApiKey => _apiKey is not null;

    /// <summary>HTTP requests answered so far (any route, any status).</summary>
    public long Requests => _metrics.Requests;

    /// <summary>Requests holding a slot (generating or reserving KV room).</summary>
    public int Running => _options.MaxConcurrentRequests - _slots.CurrentCount;

    public int Queued => Volatile.Read(ref _queued);

    public int MaxConcurrentRequests => _options.MaxConcurrentRequests;

    public int MaxQueuedRequests => _options.MaxQueuedRequests;

    /// <summary>
    /// Starts listening and serving <paramref name="models"/> (served name and model lease, which the server owns from
    /// now on and releases when it stops, or here if it cannot start).
    /// </summary>
    public static HdxServer Start(ServerOptions options, IReadOnlyList<(string Name, ModelLease Lease)> models)
    {
        var served = new List<ServedModel>();
        try
        {
            Validate(options, models);
            foreach (var (name, lease) in models)
            {
                served.Add(new ServedModel(name, lease));
            }

            var (listener, url) = Listen(options);
            var server = new HdxServer(listener, options, served.ToArray(), url);
            server._accepting = Task.Run(server.AcceptAsync);
            lock (Servers)
            {
                Servers.Add(server);
            }

            return server;
        }
        catch
        {
            foreach (var model in served)
            {
                model.Dispose();
            }

            foreach (var (_, lease) in models.Skip(served.Count))
            {
                lease.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Stops: new requests get 503 at once; running ones have up to <paramref name="drain"/> to finish, then are
    /// cancelled (their KV blocks freed). Then the port is released and the models' leases returned.
    /// </summary>
    public void Stop(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopping, 1) == 1)
        {
            return;
        }

        _draining = true;

        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _handling) > 0 && deadline.Elapsed < drain)
        {
            Thread.Sleep(20);
        }

        _stop.Cancel();
        // Cancelled handlers end at the scheduler's next step; give them a moment to write their last bytes.
        deadline.Restart();
        while (Volatile.Read(ref _handling) > 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(20);
        }

        _listener.Close();
        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        foreach (var model in _models)
        {
            model.Dispose();
        }

        lock (Servers)
        {
            Servers.Remove(this);
        }
    }

    /// <summary>Stops at once (running requests are cancelled) if still running.</summary>
    public void Dispose()
    {
        Stop(TimeSpan.Zero);
        _stop.Dispose();
        _slots.Dispose();
    }

    internal ServedModel? Find(string name) => _models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.Ordinal));

    /// <summary>Takes a generation slot, waiting in the queue if all are busy; 429 when the queue is full too.</summary>
    internal async Task AdmitAsync(CancellationToken cancellation)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return;
        }

        if (Interlocked.Increment(ref _queued) > _options.MaxQueuedRequests)
        {
            Interlocked.Decrement(ref _queued);
            throw OpenAiError.QueueFull();
        }

        try
        {
            await _slots.WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw OpenAiError.Unavailable("The server is shutting down.");
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    internal void Release() => _slots.Release();

    private static void Validate(ServerOptions options, IReadOnlyList<(string Name, ModelLease Lease)> models)
    {
        static HdxException Invalid(string message, object? target) => new("InvalidServerOption", HdxErrorKind.InvalidArgument, message, target);
        if (models.Count == 0)
        {
            throw Invalid("a server needs at least one model", null);
        }

        if (options.Port is < 0 or > 65535)
        {
            throw Invalid($"port {options.Port} is not in 0..65535", options.Port);
        }

        if (options.MaxConcurrentRequests < 1 || options.MaxQueuedRequests < 0 || options.MaxRequestBytes < 1)
        {
            throw Invalid("MaxConcurrentRequests must be at least 1, MaxQueuedRequests and the body limit at least 0", null);
        }

        foreach (var group in models.GroupBy(m => m.Name, StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(group.Key) || group.Count() > 1)
            {
                throw new HdxException("DuplicateServedModelName", HdxErrorKind.InvalidArgument,
                    $"served model names must be unique and non-empty: '{group.Key}'", group.Key, "Give each model its own -ServedModelName.");
            }
        }
    }

    /// <summary>Binds the listener; port 0 takes a free port (retrying if another process takes it first).</summary>
    private static (HttpListener Listener, string Url) Listen(ServerOptions options)
    {
        string host = options.Address.Trim() switch
        {
            "0.0.0.0" or "::" or "*" or "+" or "[::]" => "+",
            var ip when IPAddress.TryParse(ip, out var parsed) && parsed.AddressFamily == AddressFamily.InterNetworkV6 => $"[{parsed}]",
            var name => name,
        };
        for (int attempt = 0; ; attempt++)
        {
            int port = options.Port != 0 ? options.Port : FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://{host}:{port}/");
            if (host is "127.0.0.1" or "[::1]")
            {
                listener.Prefixes.Add($"http://localhost:{port}/"); // clients often say localhost for the loopback address
            }

            try
            {
                listener.Start();
                string shown = host == "+" ? "0.0.0.0" : host;
                return (listener, $"http://{shown}:{port}/");
            }
            catch (HttpListenerException error)
            {
                listener.Close();
                if (options.Port == 0 && attempt < 5)
                {
                    continue;
                }

                throw new HdxException("ServerPortUnavailable", HdxErrorKind.ResourceUnavailable,
                    $"cannot listen on {options.Address}:{port}: {error.Message}", port,
                    "Choose another -Port or -Address, or stop whatever holds that port (Get-HdxServer lists this session's servers).", error);
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                continue; // one bad connection; keep accepting
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _handling);
        var clock = Stopwatch.StartNew();
        string method = context.Request.HttpMethod;
        string path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? string.Empty;
        string endpoint = path is "/health" or "/metrics" or "/v1/models" or "/v1/completions" or "/v1/chat/completions" ? path : "other";
        int status = 500;
        try
        {
            status = await RouteAsync(context, method, path, clock).ConfigureAwait(false);
        }
        catch (OpenAiError error)
        {
            status = error.Status;
            await TryAsync(() => HttpExchange.WriteErrorAsync(context.Response, error)).ConfigureAwait(false);
        }
        catch (Exception error) when (HttpExchange.IsDisconnect(error))
        {
            status = 499;
        }
        catch (Exception error)
        {
            // Never a stack trace to the client; the type and message only to a verbose log.
            status = 500;
            _options.Log?.Invoke($"{method} {path}: internal error {error.GetType().Name}: {error.Message}");
            await TryAsync(() => HttpExchange.WriteErrorAsync(context.Response, OpenAiError.Internal())).ConfigureAwait(false);
        }
        finally
        {
            _metrics.Request(endpoint, status);
            await TryAsync(() =>
            {
                context.Response.Close();
                return Task.CompletedTask;
            }).ConfigureAwait(false);
            _options.Log?.Invoke($"{method} {path} {status} {clock.Elapsed.TotalSeconds:0.000}s");
            Interlocked.Decrement(ref _handling);
        }
    }

    private async Task<int> RouteAsync(HttpListenerContext context, string method, string path, Stopwatch clock)
    {
        if (_draining)
        {
            throw OpenAiError.Unavailable("The server is shutting down.");
        }

        switch (path)
        {
            case "/health":
                Expect(method, "GET", path);
                await HttpExchange.WriteAsync(context.Response, 200, "text/plain", []).ConfigureAwait(false);
                return 200;
            case "/metrics":
                Expect(method, "GET", path);
                string text = _metrics.Render(_models, Queued);
                await HttpExchange.WriteAsync(context.Response, 200, "text/plain; version=0.0.4; charset=utf-8", Encoding.UTF8.GetBytes(text)).ConfigureAwait(false);
                return 200;
        }

        if (!path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            throw OpenAiError.UnknownRoute(method, path);
        }

        Authorize(context.Request);
        switch (path)
        {
            case "/v1/models":
                Expect(method, "GET", path);
                await HttpExchange.WriteJsonAsync(context.Response, 200, OpenAiJson.Json(json => OpenAiJson.Models(json, _models))).ConfigureAwait(false);
                return 200;
            case "/v1/completions":
                Expect(method, "POST", path);
                return await _completions.HandleAsync(context, chat: false, clock, _stop.Token).ConfigureAwait(false);
            case "/v1/chat/completions":
                Expect(method, "POST", path);
                return await _completions.HandleAsync(context, chat: true, clock, _stop.Token).ConfigureAwait(false);
            default:
                throw OpenAiError.UnknownRoute(method, path);
        }
    }

    private static void Expect(string method, string expected, string path)
    {
        if (method != expected)
        {
            throw OpenAiError.MethodNotAllowed(method, path);
        }
    }

    /// <summary>Bearer authentication on /v1 (as vLLM: /health and /metrics stay open), compared in constant time.</summary>
    private void Authorize(HttpListenerRequest request)
    {
        if (_apiKey is null)
        {
            return;
        }

        string? header = request.Headers["Authorization"];
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), _apiKey))
        {
            throw OpenAiError.Unauthorized();
        }
    }

    private static async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception error) when (HttpExchange.IsDisconnect(error) || error is InvalidOperationException)
        {
            // The client is gone or the response already started: nothing more can be said.
        }
    }
}
