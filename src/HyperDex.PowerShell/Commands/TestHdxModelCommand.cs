using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Test-HdxModel: the full integrity check of a compiled model (every file's sha256 against hdx.json, structure,
/// program digests, finite weights, each variant bound by the engine). Writes a ModelVerification; with -Quiet, only
/// $true or $false. Every load runs the fast part of this check anyway; this one reads every byte.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "HdxModel")]
[OutputType(typeof(HyperDex.ModelVerification), typeof(bool))]
public sealed class TestHdxModelCommand : HdxCmdlet
{
    /// <summary>The compiled model: a folder, or a CompiledModel from Invoke-HdxCompile.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("Path", "FullName")]
    public PSObject Model { get; set; } = null!;

    /// <summary>Write only whether the model is intact.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var result = CompiledModelVerifier.Verify(ModelArgument.ResolvePath(this, Model), Reporter, CancelToken);
            WriteObject(Quiet ? result.IsValid : new HyperDex.ModelVerification(result));
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
