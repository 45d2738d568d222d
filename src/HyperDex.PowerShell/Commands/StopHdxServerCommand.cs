using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Serving;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Stop-HdxServer: stops servers of this session. New requests get 503 at once; running ones have -DrainTimeoutSec to
/// finish before they are cancelled; then the port is released and the models go back to the session's pool.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "HdxServer", SupportsShouldProcess = true)]
[OutputType(typeof(ServerInfo))]
public sealed class StopHdxServerCommand : HdxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public int[] Id { get; set; } = [];

    /// <summary>Seconds running requests may take to finish before they are cancelled; 0 cancels them at once.</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int DrainTimeoutSec { get; set; } = 30;

    /// <summary>Write the stopped server's final state.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (int id in Id)
        {
            HdxServer? server = HdxServer.All.FirstOrDefault(s => s.Id == id);
            if (server is null)
            {
                WriteError(new HdxException("ServerNotFound", HdxErrorKind.NotFound, $"no running HyperDex server has Id {id}", id,
                    "Get-HdxServer lists this session's servers."));
                continue;
            }

            if (!ShouldProcess($"{server.Url} (Id {id})", "Stop HyperDex server"))
            {
                continue;
            }

            server.Stop(TimeSpan.FromSeconds(DrainTimeoutSec));
            WriteVerbose($"Stopped {server.Url}; port released");
            if (PassThru)
            {
                WriteObject(ServerInfos.From(server));
            }
        }
    }
}
