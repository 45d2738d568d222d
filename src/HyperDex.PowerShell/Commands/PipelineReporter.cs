using System.Diagnostics;
using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Forwards runtime progress to Write-Progress (throttled to every 200 ms per activity, so a hot loop never floods
/// the host) and messages to Write-Verbose/Write-Warning. Must be called on the pipeline thread.
/// Once the command is being stopped (Ctrl+C) it writes nothing: the console host answers a progress or message write
/// by redrawing its progress pane, which asks the terminal for the cursor position and waits for the reply on stdin;
/// racing the stop, that read could hang the shell until a key was pressed. The host clears its progress itself.
/// </summary>
internal sealed class PipelineReporter : IHdxReporter
{
    private static readonly long ThrottleTicks = Stopwatch.Frequency / 5;

    private readonly Cmdlet _cmdlet;
    private readonly CancellationToken _stopping;
    private readonly Dictionary<int, (long LastTicks, string Activity, bool Determinate)> _open = new();

    public PipelineReporter(Cmdlet cmdlet, CancellationToken stopping)
    {
        _cmdlet = cmdlet;
        _stopping = stopping;
    }

    private bool Stopping => _stopping.IsCancellationRequested || _cmdlet.Stopping;

    public void Progress(HdxProgress progress)
    {
        if (Stopping)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        bool seen = _open.TryGetValue(progress.ActivityId, out var last);
        // A preliminary record without a percentage (listing a repository) never holds back the first real one.
        if (!progress.Completed && seen && last.Determinate && now - last.LastTicks < ThrottleTicks)
        {
            return;
        }

        var record = new ProgressRecord(progress.ActivityId, progress.Activity, progress.Status)
        {
            PercentComplete = Math.Clamp(progress.PercentComplete, -1, 100),
            SecondsRemaining = progress.SecondsRemaining,
            ParentActivityId = progress.ParentActivityId,
            RecordType = progress.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        if (progress.CurrentOperation is not null)
        {
            record.CurrentOperation = progress.CurrentOperation;
        }

        if (progress.Completed)
        {
            _open.Remove(progress.ActivityId);
        }
        else
        {
            _open[progress.ActivityId] = (now, progress.Activity, progress.PercentComplete >= 0);
        }

        _cmdlet.WriteProgress(record);
    }

    public void Verbose(string message)
    {
        if (!Stopping)
        {
            _cmdlet.WriteVerbose(message);
        }
    }

    public void Warning(string message)
    {
        if (!Stopping)
        {
            _cmdlet.WriteWarning(message);
        }
    }

    /// <summary>Closes any activity the runtime left open (for example after an error); not when stopping (see above).</summary>
    public void CompleteAll()
    {
        if (Stopping)
        {
            _open.Clear();
            return;
        }

        foreach (var (id, state) in _open)
        {
            try
            {
                _cmdlet.WriteProgress(new ProgressRecord(id, state.Activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
            catch (InvalidOperationException)
            {
                // The pipeline is already gone (stopped); nothing left to close.
            }
            catch (PipelineStoppedException)
            {
            }
        }

        _open.Clear();
    }
}
