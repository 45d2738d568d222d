using System.Management.Automation;
using System.Net;
using System.Security;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Save-HdxModel: downloads a Hub model into the standard Hugging Face cache without compiling it (hf download,
/// ollama pull): the files a compile reads, resumed where an earlier download stopped, verified against the Hub's
/// hashes. Writes the snapshot (pipe it to Invoke-HdxCompile).
/// </summary>
[Cmdlet(VerbsData.Save, "HdxModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(DownloadedModelInfo))]
public sealed class SaveHdxModelCommand : HdxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CachedModelIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ModelId { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Revision { get; set; } = "main";

    [Parameter]
    public SecureString? Token { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var settings = HubSettings.FromEnvironment(Token is null ? null : new NetworkCredential(string.Empty, Token).Password);
            if (!ShouldProcess($"{ModelId}@{Revision}", $"download from {settings.Endpoint.Host} into the Hugging Face cache {settings.CacheDirectory}"))
            {
                return;
            }

            using var hub = new HubClient(settings);
            var snapshot = WorkerPump.Run(Reporter, (reporter, cancellation) => hub.DownloadModelAsync(ModelId, Revision, reporter, cancellation), CancelToken);
            WriteVerbose($"{snapshot.Repo}@{snapshot.Revision} is commit {snapshot.Commit} at {snapshot.Path} ({snapshot.DownloadedBytes} bytes downloaded).");
            var saved = HubCacheCatalog.List(settings.CacheDirectory).First(s => s.Path == snapshot.Path);
            WriteObject(new DownloadedModelInfo(saved));
        }
        catch (HdxException e)
        {
            WriteError(e);
        }
        catch (OperationCanceledException) when (CancelToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }
}
