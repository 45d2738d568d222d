using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Clear-HdxPrefixCache: drops the cached KV blocks no running generation uses, for one loaded model (-Model) or all
/// (-All). The model stays loaded; blocks in use stay until their generation ends. Silent unless -PassThru.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "HdxPrefixCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ModelSet)]
[OutputType(typeof(PrefixCacheClearResult))]
public sealed class ClearHdxPrefixCacheCommand : HdxCmdlet
{
    private const string ModelSet = "Model";
    private const string AllSet = "All";

    /// <summary>The compiled model (a folder or a CompiledModel) whose cache to clear, on every device count it is loaded with.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ModelSet)]
    [Alias("Path")]
    public PSObject Model { get; set; } = null!;

    /// <summary>Clear the prefix cache of every loaded model.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>Write a PrefixCacheClearResult per model with what was freed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<LoadedModel> models;
        try
        {
            models = PooledModels.Select(this, All ? null : Model);
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        foreach (var model in models)
        {
            KvBlockPool blocks = model.Engine.Blocks;
            if (!ShouldProcess($"{model.Path} ({model.Engine.NumDevice} device(s))", $"Drop {blocks.Statistics.IdleBlocks} idle cached KV block(s)"))
            {
                continue;
            }

            PrefixCacheStatistics freed = blocks.Clear();
            if (PassThru)
            {
                WriteObject(new PrefixCacheClearResult(model.Path, model.Engine.NumDevice, freed.Blocks, freed.CachedTokens, freed.Bytes,
                    blocks.Statistics.Blocks));
            }
        }
    }
}
