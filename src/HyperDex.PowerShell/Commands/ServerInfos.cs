using HyperDex.Runtime.Serving;

namespace HyperDex.PowerShell.Commands;

/// <summary>Snapshots of a runtime server as the ServerInfo output object.</summary>
internal static class ServerInfos
{
    public static ServerInfo From(HdxServer server)
    {
        int blocks = server.Models.Sum(m => m.Model.Engine.Blocks.BlockCount);
        int free = server.IsRunning ? server.Models.Sum(m => m.Model.Engine.Blocks.FreeBlocks) : blocks;
        return new ServerInfo(server.Id, server.Url, server.Models.Select(m => m.Name).ToArray(), server.IsRunning ? "Running" : "Stopped",
            server.StartTime, server.Requests, server.Running, server.Queued, server.MaxConcurrentRequests, server.MaxQueuedRequests,
            server.RequiresApiKey, blocks, blocks - free);
    }
}
