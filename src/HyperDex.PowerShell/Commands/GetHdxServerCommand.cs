using System.Management.Automation;
using HyperDex.Runtime.Serving;

namespace HyperDex.PowerShell.Commands;

/// <summary>Get-HdxServer: the HTTP servers Start-HdxServer started in this session that are still running.</summary>
[Cmdlet(VerbsCommon.Get, "HdxServer")]
[OutputType(typeof(ServerInfo))]
public sealed class GetHdxServerCommand : HdxCmdlet
{
    /// <summary>Only these servers; all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public int[]? Id { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var server in HdxServer.All.Where(s => Id is null || Id.Contains(s.Id)))
        {
            WriteObject(ServerInfos.From(server));
        }
    }
}
