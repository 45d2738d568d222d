using System.Management.Automation;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Hub;
using HyperDex.Runtime.Models;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Remove-HdxModel: deletes compiled models (a folder, or every dtype of a model id under $HDX_HOME), or with
/// -Downloaded a model's snapshots in the Hugging Face cache with the blobs only they used (hf cache delete).
/// </summary>
[Cmdlet(VerbsCommon.Remove, "HdxModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = PathSet)]
[OutputType(typeof(void))]
public sealed class RemoveHdxModelCommand : HdxCmdlet
{
    private const string PathSet = "Path";
    private const string ModelIdSet = "ModelId";

    /// <summary>A compiled model folder, or a snapshot folder of the Hugging Face cache (with -Downloaded).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CompiledModelCompleter))]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Removes every compiled model (every dtype) of this id, or with -Downloaded every snapshot of it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelIdSet)]
    [ArgumentCompleter(typeof(ModelIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ModelId { get; set; } = "";

    /// <summary>Only this dtype's compiled folder (fp16, bf16, fp32, int8).</summary>
    [Parameter(ParameterSetName = ModelIdSet)]
    [ValidateSet("fp16", "bf16", "fp32", "int8")]
    public string? Dtype { get; set; }

    /// <summary>Remove downloaded snapshots from the Hugging Face cache instead of compiled models.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter Downloaded { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            if (Downloaded)
            {
                RemoveDownloaded();
            }
            else
            {
                RemoveCompiled();
            }
        }
        catch (HdxException e)
        {
            WriteError(e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new HdxException("ModelRemoveFailed", HdxErrorKind.WriteError, $"Removing the model failed: {e.Message}", Path,
                "Check the permissions of the folder and that no other process holds it open.", e));
        }
    }

    private void RemoveCompiled()
    {
        IEnumerable<string> folders;
        if (ParameterSetName == PathSet)
        {
            folders = [GetUnresolvedProviderPathFromPSPath(Path)];
        }
        else
        {
            var matches = CompiledModelCatalog.List(HdxPaths.ModelsRoot)
                .Where(e => string.Equals(e.ModelId, ModelId, StringComparison.OrdinalIgnoreCase) && (Dtype is null || e.Dtype.ToUserName() == Dtype))
                .Select(e => e.Path).ToList();
            if (matches.Count == 0)
            {
                throw new HdxException("CompiledModelNotFound", HdxErrorKind.NotFound,
                    $"no compiled model {ModelId}{(Dtype is null ? "" : " " + Dtype)} under {HdxPaths.ModelsRoot}", ModelId,
                    "List the compiled models with Get-HdxModel.");
            }

            folders = matches;
        }

        foreach (string folder in folders)
        {
            var entry = CompiledModelCatalog.Read(folder);
            string what = entry is null ? folder : $"{entry.ModelId} ({entry.Dtype.ToUserName()}, {Mib(entry.SizeBytes)})";
            if (!ShouldProcess(folder, $"Remove the compiled model {what}"))
            {
                continue;
            }

            ModelPool.Evict(folder); // a pooled copy would keep the deleted files mapped
            long freed = CompiledModelCatalog.Remove(folder);
            WriteVerbose($"Removed {folder} ({freed} bytes).");
        }
    }

    private void RemoveDownloaded()
    {
        string cache = HubSettings.FromEnvironment().CacheDirectory;
        var snapshots = HubCacheCatalog.List(cache);
        List<DownloadedSnapshot> chosen;
        if (ParameterSetName == PathSet)
        {
            string folder = System.IO.Path.TrimEndingDirectorySeparator(GetUnresolvedProviderPathFromPSPath(Path));
            chosen = snapshots.Where(s => s.Path == folder).ToList();
        }
        else
        {
            chosen = snapshots.Where(s => string.Equals(s.ModelId, ModelId, StringComparison.OrdinalIgnoreCase)).ToList();
        }

        if (chosen.Count == 0)
        {
            string target = ParameterSetName == PathSet ? Path : ModelId;
            throw new HdxException("DownloadedModelNotFound", HdxErrorKind.NotFound, $"no downloaded snapshot {target} in the Hugging Face cache {cache}",
                target, "List the downloaded models with Get-HdxModel -Downloaded.");
        }

        foreach (var snapshot in chosen)
        {
            string refs = snapshot.Refs.Count == 0 ? "" : $" ({string.Join(", ", snapshot.Refs)})";
            if (!ShouldProcess($"{snapshot.ModelId}@{snapshot.Revision}{refs}", $"Remove the downloaded snapshot ({Mib(snapshot.SizeBytes)}) from {cache}"))
            {
                continue;
            }

            long freed = HubCacheCatalog.Remove(cache, snapshot);
            WriteVerbose($"Removed {snapshot.ModelId}@{snapshot.Revision}: {freed} bytes of blobs freed.");
        }
    }

    private static string Mib(long bytes) => FormattableString.Invariant($"{bytes / (double)(1 << 20):0.0} MiB");
}
