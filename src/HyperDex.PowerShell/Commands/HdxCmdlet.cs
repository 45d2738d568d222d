using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Base of every HyperDex cmdlet: a cancellation token that Ctrl+C (StopProcessing) cancels, a reporter that turns
/// runtime progress into Write-Progress on the pipeline thread, and the mapping of runtime errors to ErrorRecords.
/// Cleanup belongs in Dispose: `Select-Object -First` stops a cmdlet without StopProcessing or EndProcessing.
/// </summary>
public abstract class HdxCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private PipelineReporter? _reporter;

    protected CancellationToken CancelToken => _cancellation.Token;

    /// <summary>Reports progress and messages; only call it on the pipeline thread.</summary>
    protected IHdxReporter Reporter => _reporter ??= new PipelineReporter(this, _cancellation.Token);

    protected override void StopProcessing() => _cancellation.Cancel();

    /// <summary>Terminates the command with the ErrorRecord of a runtime failure.</summary>
    protected void ThrowTerminating(HdxException error) => ThrowTerminatingError(ErrorRecords.From(error));

    /// <summary>Writes a non-terminating error for one pipeline item and lets the command go on.</summary>
    protected void WriteError(HdxException error) => WriteError(ErrorRecords.From(error));

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reporter?.CompleteAll();
            _cancellation.Cancel();
            _cancellation.Dispose();
        }
    }
}
