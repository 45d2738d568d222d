using System.Management.Automation;
using System.Net;
using System.Security;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Invoke-HdxCompile: HyperDex's AutoCompiler on a local HuggingFace folder (-Path) or a Hub model (-ModelId, first
/// downloaded into the Hugging Face cache) — check, convert, map for NumDevice devices, emit the device programs and
/// the manifest. Reuses complete artifacts; builds only missing variants.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HdxCompile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
    DefaultParameterSetName = ModelIdSet)]
[OutputType(typeof(CompiledModel))]
public sealed class InvokeHdxCompileCommand : HdxCmdlet
{
    private const string PathSet = "Path";
    private const string ModelIdSet = "ModelId";

    // By property name only, so that a plain string from the pipeline is a model id (Get-Item still binds FullName,
    // and a positional argument is a path). ModelId must be the default set for the string to bind.
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ModelIdSet, ValueFromPipeline = true)]
    [ArgumentCompleter(typeof(CachedModelIdCompleter))]
    [ValidateNotNullOrEmpty]
    public string ModelId { get; set; } = "";

    [Parameter(ParameterSetName = ModelIdSet)]
    [ValidateNotNullOrEmpty]
    public string Revision { get; set; } = "main";

    [Parameter(ParameterSetName = ModelIdSet)]
    public SecureString? Token { get; set; }

    [Parameter(ParameterSetName = ModelIdSet)]
    public SwitchParameter LowMemoryUsage { get; set; }

    [Parameter(ParameterSetName = ModelIdSet)]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    public int NumDevice { get; set; } = 1;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxLength { get; set; }

    [Parameter]
    [ValidateSet("fp16", "bf16", "fp32", "int8")]
    public string Dtype { get; set; } = "fp16";

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Refuse rather than rebuild a compiled model whose source changed since it was compiled.</summary>
    [Parameter]
    public SwitchParameter NoRebuild { get; set; }

    /// <summary>Also write and keep the converted checkpoint in ckpt/ (a second full copy of the weights).</summary>
    [Parameter]
    public SwitchParameter KeepCheckpoint { get; set; }

    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long HostMemoryBudget { get; set; }

    protected override void ProcessRecord()
    {
        var dtype = HdxDtypeNames.TryParse(Dtype, out var parsed) ? parsed : throw new PSArgumentException($"-Dtype {Dtype} is not fp16, bf16, fp32 or int8");
        try
        {
            var settings = ParameterSetName == ModelIdSet ? HubSettings.FromEnvironment(PlainToken(), Offline) : null;
            using var hub = settings is null ? null : new HubClient(settings);
            HubSnapshot? snapshot = null;
            if (hub is not null)
            {
                snapshot = Download(hub, settings!);
                if (snapshot is null)
                {
                    return;
                }
            }

            var options = new CompileOptions
            {
                SourcePath = snapshot?.Path ?? PathArgument.Resolve(this, Path),
                ModelId = snapshot?.Repo.Value,
                OutputPath = OutputPath is null ? null : PathArgument.Resolve(this, OutputPath),
                NumDevice = NumDevice,
                MaxLength = MyInvocation.BoundParameters.ContainsKey(nameof(MaxLength)) ? MaxLength : null,
                Dtype = dtype,
                Force = Force,
                NoRebuild = NoRebuild,
                KeepCheckpoint = KeepCheckpoint,
                HostMemoryBudget = MyInvocation.BoundParameters.ContainsKey(nameof(HostMemoryBudget)) ? HostMemoryBudget : null,
            };
            CompileResult result;
            using (var plan = CompilePlan.Create(options, Reporter, CancelToken))
            {
                if (plan.Action != CompileAction.Reuse && !ShouldProcess(plan.OutputPath, plan.Description))
                {
                    return;
                }

                result = ModelCompiler.Execute(plan, Reporter, CancelToken);
            }

            if (LowMemoryUsage && hub is not null && snapshot is not null)
            {
                long freed = hub.RemoveWeights(snapshot);
                WriteVerbose($"-LowMemoryUsage: removed the downloaded weights of {snapshot.Repo} ({freed} bytes) from the Hugging Face cache.");
            }

            WriteObject(new CompiledModel(result, NumDevice));
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

    /// <summary>
    /// Brings the model into the Hugging Face cache (a no-op offline) with progress from the download workers drained
    /// here on the pipeline thread. Null when -WhatIf or -Confirm declined the download.
    /// </summary>
    private HubSnapshot? Download(HubClient hub, HubSettings settings)
    {
        if (!settings.Offline && !ShouldProcess($"{ModelId}@{Revision}",
                $"download from {settings.Endpoint.Host} into the Hugging Face cache {settings.CacheDirectory}, then compile"))
        {
            return null;
        }

        var snapshot = WorkerPump.Run(Reporter, (reporter, cancellation) => hub.DownloadModelAsync(ModelId, Revision, reporter, cancellation), CancelToken);
        WriteVerbose($"{snapshot.Repo}@{snapshot.Revision} is commit {snapshot.Commit} at {snapshot.Path} ({snapshot.DownloadedBytes} bytes downloaded).");
        return snapshot;
    }

    // The token only ever lives in memory and in the Authorization header of requests to the endpoint.
    private string? PlainToken() => Token is null ? null : new NetworkCredential(string.Empty, Token).Password;
}
