using System.Management.Automation;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Invoke-HdxCompile: HyperDex's AutoCompiler on a local HuggingFace folder — check, convert, map for NumDevice
/// devices, emit the device programs and the manifest. Reuses complete artifacts; builds only missing variants.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "HdxCompile", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CompiledModel))]
public sealed class InvokeHdxCompileCommand : HdxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    public int NumDevice { get; set; } = 1;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxLength { get; set; }

    [Parameter]
    [ValidateSet("fp16", "bf16", "fp32")]
    public string Dtype { get; set; } = "fp16";

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    [ValidateRange(1L, long.MaxValue)]
    public long HostMemoryBudget { get; set; }

    protected override void ProcessRecord()
    {
        var dtype = HdxDtypeNames.TryParse(Dtype, out var parsed) ? parsed : throw new PSArgumentException($"-Dtype {Dtype} is not fp16, bf16 or fp32");
        var options = new CompileOptions
        {
            SourcePath = GetUnresolvedProviderPathFromPSPath(Path),
            OutputPath = OutputPath is null ? null : GetUnresolvedProviderPathFromPSPath(OutputPath),
            NumDevice = NumDevice,
            MaxLength = MyInvocation.BoundParameters.ContainsKey(nameof(MaxLength)) ? MaxLength : null,
            Dtype = dtype,
            Force = Force,
            HostMemoryBudget = MyInvocation.BoundParameters.ContainsKey(nameof(HostMemoryBudget)) ? HostMemoryBudget : null,
        };
        try
        {
            using var plan = CompilePlan.Create(options, Reporter, CancelToken);
            if (plan.Action != CompileAction.Reuse && !ShouldProcess(plan.OutputPath, plan.Description))
            {
                return;
            }

            var result = ModelCompiler.Execute(plan, Reporter, CancelToken);
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
}
