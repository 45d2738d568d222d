using System.Collections.Concurrent;
using System.Management.Automation;
using System.Net;
using System.Security;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Serving;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Start-HdxServer: serves compiled models over HTTP with OpenAI's API (/v1/models, /v1/completions,
/// /v1/chat/completions, /health, /metrics). The server keeps running in the background of the session and the
/// cmdlet returns a ServerInfo; with -Wait it blocks until Ctrl+C and then stops the server.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "HdxServer", SupportsShouldProcess = true)]
[OutputType(typeof(ServerInfo))]
public sealed class StartHdxServerCommand : HdxCmdlet
{
    /// <summary>Environment variable read for the API key when -ApiKey is not given.</summary>
    private const string ApiKeyVariable = "HDX_API_KEY";

    private readonly List<(string Path, int NumDevice)> _models = new();
    private readonly ConcurrentQueue<string> _log = new();

    /// <summary>Compiled model folders or CompiledModel objects (from the pipeline too); each is served under its own name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("Path")]
    public PSObject[] Model { get; set; } = [];

    /// <summary>The compiled device-count variant to run; a piped CompiledModel supplies the count it was compiled for.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 64)]
    public int NumDevice { get; set; } = 1;

    /// <summary>Names clients use in "model", in the order the models are given; default: each model's id from hdx.json.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ServedModelName { get; set; }

    /// <summary>Address to listen on; 0.0.0.0 listens on every interface.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 takes a free one (read it from the output's Url).</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int Port { get; set; } = ServerOptions.DefaultPort;

    /// <summary>Bearer token /v1 requests must send; default: $env:HDX_API_KEY; neither: no authentication.</summary>
    [Parameter]
    public SecureString? ApiKey { get; set; }

    [Parameter]
    [ValidateRange(1, 4096)]
    public int MaxConcurrentRequests { get; set; } = 32;

    /// <summary>Requests that may wait for a slot; more get 429 (Too Many Requests).</summary>
    [Parameter]
    [ValidateRange(0, 1_000_000)]
    public int MaxQueuedRequests { get; set; } = 128;

    /// <summary>Block until Ctrl+C, then stop the server (for containers and service units). With -Verbose, one line per request.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        foreach (PSObject model in Model)
        {
            try
            {
                _models.Add((ModelArgument.ResolvePath(this, model), NumDevice));
            }
            catch (HdxException error)
            {
                ThrowTerminating(error);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (ServedModelName is not null && ServedModelName.Length != _models.Count)
        {
            ThrowTerminating(new HdxException("ServedModelNameMismatch", HdxErrorKind.InvalidArgument,
                $"{ServedModelName.Length} served model name(s) for {_models.Count} model(s)", ServedModelName,
                "Give one -ServedModelName per model, in the same order."));
        }

        string target = $"{Address}:{Port} serving {string.Join(", ", _models.Select(m => m.Path))}";
        if (!ShouldProcess(target, "Start HyperDex HTTP server"))
        {
            return;
        }

        HdxServer server;
        try
        {
            server = HdxServer.Start(Options(), Leases());
        }
        catch (HdxException error)
        {
            ThrowTerminating(error);
            return;
        }

        WriteVerbose($"Serving {string.Join(", ", server.Models.Select(m => m.Name))} at {server.Url}v1 ({(server.RequiresApiKey ? "API key required" : "no API key")})");
        WriteObject(ServerInfos.From(server));
        if (Wait)
        {
            try
            {
                while (!CancelToken.WaitHandle.WaitOne(200))
                {
                    DrainLog();
                }
            }
            finally
            {
                // Ctrl+C: running requests are cancelled at once and the port released.
                server.Stop(TimeSpan.Zero);
                DrainLog();
            }
        }
    }

    private ServerOptions Options()
    {
        string? key = ApiKey is not null ? new NetworkCredential(string.Empty, ApiKey).Password : Environment.GetEnvironmentVariable(ApiKeyVariable);
        // Request lines (and prompts) are only ever logged when asked for, and only while -Wait can write them.
        bool verbose = MyInvocation.BoundParameters.TryGetValue("Verbose", out object? flag)
            ? ((SwitchParameter)flag).IsPresent
            : GetVariableValue("VerbosePreference") is ActionPreference.Continue;
        return new ServerOptions
        {
            Address = Address,
            Port = Port,
            ApiKey = string.IsNullOrEmpty(key) ? null : key,
            MaxConcurrentRequests = MaxConcurrentRequests,
            MaxQueuedRequests = MaxQueuedRequests,
            Log = verbose && Wait ? _log.Enqueue : null,
        };
    }

    /// <summary>One pooled model lease per model; the server owns them (releasing them when it stops or fails to start).</summary>
    private List<(string Name, ModelLease Lease)> Leases()
    {
        var leases = new List<(string, ModelLease)>();
        try
        {
            for (int i = 0; i < _models.Count; i++)
            {
                var (path, numDevice) = _models[i];
                ModelLease lease = ModelPool.Acquire(path, numDevice);
                leases.Add((ServedModelName?[i] ?? lease.Model.Manifest.ModelId, lease));
                WriteVerbose(lease.Loaded ? $"Loaded {path} for {numDevice} device(s)" : $"Using the pooled {path}");
            }

            return leases;
        }
        catch
        {
            foreach (var (_, lease) in leases)
            {
                lease.Dispose();
            }

            throw;
        }
    }

    private void DrainLog()
    {
        while (_log.TryDequeue(out string? line))
        {
            WriteVerbose(line);
        }
    }
}
