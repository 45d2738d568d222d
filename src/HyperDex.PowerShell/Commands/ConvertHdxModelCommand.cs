using System.Management.Automation;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Convert-HdxModel: validates a local HuggingFace folder against its architecture and tokenizer, and (unless
/// -ValidateOnly) converts it into the HyperDex checkpoint format under &lt;output&gt;/ckpt.
/// </summary>
[Cmdlet(VerbsData.Convert, "HdxModel", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ModelReport))]
public sealed class ConvertHdxModelCommand : HdxCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    [ValidateSet("fp16", "bf16", "fp32")]
    public string Dtype { get; set; } = "fp16";

    [Parameter]
    public SwitchParameter ValidateOnly { get; set; }

    [Parameter]
    public SwitchParameter ScanNonFinite { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var dtype = HdxDtypeNames.TryParse(Dtype, out var parsed) ? parsed : throw new PSArgumentException($"-Dtype {Dtype} is not fp16, bf16 or fp32");
        try
        {
            string source = PathArgument.Resolve(this, Path);
            using var model = ModelSource.Open(source, ScanNonFinite, CancelToken);
            foreach (string problem in model.Problems)
            {
                WriteWarning(problem);
            }

            if (ValidateOnly)
            {
                WriteObject(new ModelReport(model.Report(null, null)));
                return;
            }

            string output = OutputPath is null ? ModelConverter.DefaultOutput(model, dtype) : PathArgument.Resolve(this, OutputPath);
            string target = System.IO.Path.Combine(output, CompiledLayout.CheckpointDirectory);
            if (!ShouldProcess(target, $"Convert {model.ModelId} to HyperDex {Dtype} checkpoint"))
            {
                return;
            }

            var report = ModelConverter.Convert(model, output, dtype, Force, Reporter, CancelToken);
            WriteObject(new ModelReport(report));
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
