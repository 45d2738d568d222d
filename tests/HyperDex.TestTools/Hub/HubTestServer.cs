using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace HyperDex.TestTools.Hub;

/// <summary>What the server saw of one request (for asserting, e.g., that no token reached the CDN).</summary>
public sealed record HubTestRequest(bool Cdn, string Method, string Path, bool HadAuthorization, string? Range);

/// <summary>
/// A loopback stand-in for the Hugging Face Hub, on raw sockets bound to 127.0.0.1 only (random ports): the API
/// (`/api/models/{repo}/revision/{rev}` with `blobs=true` siblings), `resolve` URLs that answer HEAD and GET with
/// X-Repo-Commit / ETag / X-Linked-Etag / X-Linked-Size and redirect LFS files to a second origin (the "CDN", another
/// port), Range requests, X-Error-Code errors like the Hub's, and the faults of <see cref="HubTestFaults"/>.
/// Usable in-process from xUnit and as the `hub-server` test tool.
/// </summary>
public sealed class HubTestServer : IDisposable
{
    private const int ChunkSize = 16 * 1024;
    private const int MaxConnections = 64;

    private readonly Dictionary<string, HubTestRepo> _repos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _renamed = new(StringComparer.Ordinal);
    private readonly List<HubTestRequest> _requests = [];
    private readonly TcpListener _api = new(IPAddress.Loopback, 0);
    private readonly TcpListener _cdn = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _connections = new(MaxConnections);
    private readonly Task _apiLoop;
    private readonly Task _cdnLoop;

    public HubTestServer(params HubTestRepo[] repos)
    {
        foreach (var repo in repos)
        {
            Add(repo);
        }

        _api.Start();
        _cdn.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_api.LocalEndpoint).Port}");
        CdnBase = new Uri($"http://127.0.0.1:{((IPEndPoint)_cdn.LocalEndpoint).Port}/");
        _apiLoop = AcceptLoopAsync(_api, cdn: false);
        _cdnLoop = AcceptLoopAsync(_cdn, cdn: true);
    }

    /// <summary>The value for HF_ENDPOINT.</summary>
    public Uri Endpoint { get; }

    /// <summary>Where LFS files are redirected: same machine, another origin.</summary>
    public Uri CdnBase { get; }

    public HubTestFaults Faults { get; } = new();

    /// <summary>Tokens the server accepts (as `Authorization: Bearer &lt;token&gt;`).</summary>
    public HashSet<string> ValidTokens { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<HubTestRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public HubTestRepo Add(HubTestRepo repo)
    {
        lock (_repos)
        {
            _repos[repo.Id] = repo;
        }

        return repo;
    }

    /// <summary>Requests for <paramref name="oldId"/> get a relative 307 to <paramref name="newId"/>, as after a rename.</summary>
    public void Rename(string oldId, string newId)
    {
        lock (_repos)
        {
            _renamed[oldId] = newId;
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, bool cdn)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(_stop.Token);
                await _connections.WaitAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await ServeAsync(client, cdn);
                    }
                    finally
                    {
                        _connections.Release();
                    }
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client, bool cdn)
    {
        using (client)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                client.NoDelay = true;
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream, timeout.Token);
                if (request is null)
                {
                    return;
                }

                lock (_requests)
                {
                    _requests.Add(new HubTestRequest(cdn, request.Method, request.Path, request.Headers.ContainsKey("authorization"),
                        request.Headers.GetValueOrDefault("range")));
                }

                var context = new Exchange(client, stream, request, timeout.Token);
                if (Faults.TakeFailure())
                {
                    await context.ErrorAsync(503, null, "Service temporarily unavailable");
                }
                else if (cdn)
                {
                    await ServeCdnAsync(context);
                }
                else
                {
                    await ServeApiAsync(context);
                }
            }
            catch (Exception error) when (error is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (or was cut off on purpose); nothing to answer.
            }
        }
    }

    private async Task ServeCdnAsync(Exchange context)
    {
        const string prefix = "/cdn/";
        var file = context.Request.Path.StartsWith(prefix, StringComparison.Ordinal)
            ? AllRepos().SelectMany(r => r.Files).FirstOrDefault(f => f.Lfs && f.Sha256 == context.Request.Path[prefix.Length..])
            : null;
        if (file is null)
        {
            await context.ErrorAsync(404, null, "No such object");
            return;
        }

        await SendFileAsync(context, file, []);
    }

    private async Task ServeApiAsync(Exchange context)
    {
        string path = context.Request.Path;
        string repoId;
        string revision;
        string? filePath = null;
        bool api = path.StartsWith("/api/models/", StringComparison.Ordinal);
        if (api)
        {
            string rest = path["/api/models/".Length..];
            int at = rest.IndexOf("/revision/", StringComparison.Ordinal);
            (repoId, revision) = at < 0 ? (rest, "main") : (rest[..at], Uri.UnescapeDataString(rest[(at + "/revision/".Length)..]));
        }
        else
        {
            int at = path.IndexOf("/resolve/", StringComparison.Ordinal);
            if (at <= 1)
            {
                await context.ErrorAsync(404, null, "Not found");
                return;
            }

            repoId = path[1..at];
            string[] rest = path[(at + "/resolve/".Length)..].Split('/');
            revision = Uri.UnescapeDataString(rest[0]);
            filePath = string.Join('/', rest.Skip(1).Select(Uri.UnescapeDataString));
        }

        HubTestRepo? repo;
        string? renamedTo;
        lock (_repos)
        {
            _renamed.TryGetValue(repoId, out renamedTo);
            repo = _repos.GetValueOrDefault(repoId);
        }

        if (renamedTo is not null)
        {
            string target = path.Replace("/" + repoId + "/", "/" + renamedTo + "/", StringComparison.Ordinal) + context.Request.Query;
            await context.RespondAsync(307, new() { ["Location"] = target }, ReadOnlyMemory<byte>.Empty);
            return;
        }

        string? token = context.Request.Headers.TryGetValue("authorization", out var auth) && auth.StartsWith("Bearer ", StringComparison.Ordinal)
            ? auth["Bearer ".Length..] : null;
        bool validToken = token is not null && ValidTokens.Contains(token);
        if (token is not null && !validToken)
        {
            await context.ErrorAsync(401, null, "Invalid credentials in Authorization header");
            return;
        }

        if (repo is null || (repo.Private && !validToken))
        {
            await context.ErrorAsync(validToken ? 404 : 401, "RepoNotFound", "Repository not found");
            return;
        }

        if (Faults.RepoStatus(repo.Id) is { } forced)
        {
            await context.ErrorAsync(forced.Status, forced.ErrorCode, $"Forced answer {forced.Status}");
            return;
        }

        if (repo.Gated && !(validToken && repo.GrantedTokens.Contains(token!)))
        {
            string message = validToken
                ? $"Access to model {repo.Id} is restricted and you are not in the authorized list. Visit {Endpoint}{repo.Id} to ask for access."
                : $"Access to model {repo.Id} is restricted. You must have access to it and be authenticated to access it. Please log in.";
            await context.ErrorAsync(validToken ? 403 : 401, "GatedRepo", message);
            return;
        }

        string commit = repo.Commit;
        if (revision != commit && !repo.Branches.Contains(revision))
        {
            await context.ErrorAsync(404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return;
        }

        if (api)
        {
            await context.RespondAsync(200, new() { ["Content-Type"] = "application/json" },
                RepoJson(repo, commit, context.Request.Query.Contains("blobs=true", StringComparison.Ordinal)));
            return;
        }

        var file = repo.Find(filePath!);
        if (file is null)
        {
            await context.ErrorAsync(404, "EntryNotFound", $"{filePath} does not exist on \"{revision}\"");
            return;
        }

        var headers = new Dictionary<string, string> { ["X-Repo-Commit"] = commit, ["ETag"] = $"\"{file.GitSha1}\"" };
        if (file.Lfs)
        {
            headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
            headers["X-Linked-Size"] = file.Content.Length.ToString(CultureInfo.InvariantCulture);
            headers["Location"] = Faults.LfsLocation ?? new Uri(CdnBase, "cdn/" + file.Sha256).AbsoluteUri;
            await context.RespondAsync(302, headers, ReadOnlyMemory<byte>.Empty);
            return;
        }

        await SendFileAsync(context, file, headers);
    }

    private byte[] RepoJson(HubTestRepo repo, string commit, bool blobs)
    {
        var siblings = repo.Files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => blobs
            ? new Dictionary<string, object?>
            {
                ["rfilename"] = f.Path,
                ["size"] = Faults.ListedSize(f),
                ["blobId"] = f.GitSha1,
                ["lfs"] = f.Lfs ? new Dictionary<string, object> { ["sha256"] = f.Sha256, ["size"] = Faults.ListedSize(f), ["pointerSize"] = 134 } : null,
            }
            : new Dictionary<string, object?> { ["rfilename"] = f.Path });
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["id"] = repo.Id,
            ["modelId"] = repo.Id,
            ["sha"] = commit,
            ["private"] = repo.Private,
            ["gated"] = repo.Gated ? "manual" : false,
            ["siblings"] = siblings.Select(s => s.Where(kv => kv.Value is not null).ToDictionary()).ToList(),
        });
    }

    private async Task SendFileAsync(Exchange context, HubTestFile file, Dictionary<string, string> headers)
    {
        byte[] content = file.Content;
        if (Faults.IsCorrupt(file.Path) && content.Length > 0)
        {
            content = [.. content];
            content[content.Length / 2] ^= 0xFF;
        }

        long start = 0;
        long end = content.Length - 1;
        int status = 200;
        headers["Accept-Ranges"] = "bytes";
        if (!Faults.IgnoreRange && context.Request.Headers.TryGetValue("range", out var range) && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            string[] bounds = range["bytes=".Length..].Split('-');
            start = long.Parse(bounds[0], CultureInfo.InvariantCulture);
            if (bounds.Length > 1 && bounds[1].Length > 0)
            {
                end = Math.Min(end, long.Parse(bounds[1], CultureInfo.InvariantCulture));
            }

            if (start >= content.Length)
            {
                headers["Content-Range"] = $"bytes */{content.Length}";
                await context.RespondAsync(416, headers, ReadOnlyMemory<byte>.Empty);
                return;
            }

            status = 206;
            headers["Content-Range"] = $"bytes {start}-{end}/{content.Length}";
        }

        bool drop = context.Request.Method == "GET" && Faults.TakeDrop(file.Path);
        await context.RespondAsync(status, headers, content.AsMemory((int)start, (int)(end - start + 1)), Faults.ChunkDelay, drop);
    }

    private IEnumerable<HubTestRepo> AllRepos()
    {
        lock (_repos)
        {
            return [.. _repos.Values];
        }
    }

    private sealed record ParsedRequest(string Method, string Path, string Query, Dictionary<string, string> Headers);

    private static async Task<ParsedRequest?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
            string text = Encoding.ASCII.GetString(buffer, 0, length);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            string[] lines = text[..end].Split("\r\n");
            string[] first = lines[0].Split(' ');
            if (first.Length < 2)
            {
                return null;
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string line in lines.Skip(1))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
                }
            }

            string target = first[1];
            int question = target.IndexOf('?', StringComparison.Ordinal);
            return new ParsedRequest(first[0], question < 0 ? target : target[..question], question < 0 ? string.Empty : target[question..], headers);
        }

        return null; // headers too large
    }

    /// <summary>One request and the means to answer it (always `Connection: close`).</summary>
    private sealed class Exchange(TcpClient client, NetworkStream stream, ParsedRequest request, CancellationToken cancellationToken)
    {
        public ParsedRequest Request { get; } = request;

        public Task ErrorAsync(int status, string? errorCode, string message)
        {
            var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json", ["X-Error-Message"] = message };
            if (errorCode is not null)
            {
                headers["X-Error-Code"] = errorCode;
            }

            return RespondAsync(status, headers, JsonSerializer.SerializeToUtf8Bytes(new { error = message }));
        }

        public async Task RespondAsync(int status, Dictionary<string, string> headers, ReadOnlyMemory<byte> body,
            TimeSpan chunkDelay = default, bool dropHalfway = false)
        {
            var head = new StringBuilder().Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\n");
            foreach (var (name, value) in headers)
            {
                head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
            }

            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
            if (Request.Method == "HEAD")
            {
                return;
            }

            int limit = dropHalfway ? body.Length / 2 : body.Length;
            for (int offset = 0; offset < limit; offset += ChunkSize)
            {
                await stream.WriteAsync(body.Slice(offset, Math.Min(ChunkSize, limit - offset)), cancellationToken);
                if (chunkDelay > TimeSpan.Zero)
                {
                    await Task.Delay(chunkDelay, cancellationToken);
                }
            }

            if (dropHalfway)
            {
                await stream.FlushAsync(cancellationToken);
                client.Client.LingerState = new LingerOption(true, 0); // close with a reset, like a dropped connection
                client.Client.Close();
            }
        }

        private static string Reason(int status) => status switch
        {
            200 => "OK",
            206 => "Partial Content",
            302 => "Found",
            307 => "Temporary Redirect",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            416 => "Range Not Satisfiable",
            503 => "Service Unavailable",
            _ => "Status",
        };
    }

    public void Dispose()
    {
        _stop.Cancel();
        _api.Stop();
        _cdn.Stop();
        Task.WaitAll([_apiLoop, _cdnLoop], TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
