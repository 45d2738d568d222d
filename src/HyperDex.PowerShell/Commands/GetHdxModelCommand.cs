using System.Management.Automation;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Hub;
using HyperDex.Runtime.Models;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Get-HdxModel: the compiled models under $HDX_HOME (ollama list), or with -Downloaded the model snapshots in the
/// Hugging Face cache (hf cache scan). Reads only local folders.
/// </summary>
[Cmdlet(VerbsCommon.Get, "HdxModel")]
[OutputType(typeof(CompiledModelInfo), typeof(DownloadedModelInfo))]
public sealed class GetHdxModelCommand : HdxCmdlet
{
    /// <summary>Model ids to list (wildcards); all when omitted.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(ModelIdCompleter))]
    [SupportsWildcards]
    public string[]? ModelId { get; set; }

    /// <summary>List the downloaded snapshots in the Hugging Face cache instead of the compiled models.</summary>
    [Parameter]
    public SwitchParameter Downloaded { get; set; }

    protected override void EndProcessing()
    {
        var patterns = (ModelId ?? ["*"]).Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
        bool Wanted(string id) => patterns.Any(p => p.IsMatch(id));
        if (Downloaded)
        {
            string cache = HubSettings.FromEnvironment().CacheDirectory;
            WriteVerbose($"Looking for downloaded snapshots in {cache}.");
            foreach (var snapshot in HubCacheCatalog.List(cache).Where(s => Wanted(s.ModelId)))
            {
                WriteObject(new DownloadedModelInfo(snapshot));
            }

            return;
        }

        WriteVerbose($"Looking for compiled models under {HdxPaths.ModelsRoot}.");
        foreach (var entry in CompiledModelCatalog.List(HdxPaths.ModelsRoot).Where(e => Wanted(e.ModelId)))
        {
            WriteObject(new CompiledModelInfo(entry));
        }
    }
}
