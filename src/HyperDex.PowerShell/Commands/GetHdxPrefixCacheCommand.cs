using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.PowerShell.Commands;

/// <summary>Get-HdxPrefixCache: the prefix cache of each model loaded in this session (one PrefixCacheInfo per loaded model).</summary>
[Cmdlet(VerbsCommon.Get, "HdxPrefixCache")]
[OutputType(typeof(PrefixCacheInfo))]
public sealed class GetHdxPrefixCacheCommand : HdxCmdlet
{
    /// <summary>Only this compiled model (a folder or a CompiledModel); all loaded models when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [Alias("Path")]
    public PSObject? Model { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<LoadedModel> models;
        try
        {
            models = PooledModels.Select(this, Model);
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        foreach (var model in models)
        {
            PrefixCacheStatistics s = model.Engine.Blocks.Statistics;
            WriteObject(new PrefixCacheInfo(model.Path, model.Engine.NumDevice, s.Enabled, s.Blocks, s.IdleBlocks, s.BlockSize, s.CachedTokens, s.Bytes,
                s.Hits, s.Misses, s.HitRate, s.Evictions));
        }
    }
}
