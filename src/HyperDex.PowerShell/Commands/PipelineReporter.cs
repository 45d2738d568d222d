using System.Diagnostics;
using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Forwards runtime progress to Write-Progress (throttled to every 200 ms per activity, so a hot loop never floods
/// the host) and messages to Write-Verbose/Write-Warning. Must be called on the pipeline thread.
/// </summary>
internal sealed class PipelineReporter : IHdxReporter
{
    private static readonly long ThrottleTicks = Stopwatch.Frequency / 5;

    private readonly Cmdlet _cmdlet;
    private readonly Dictionary<int, (long LastTicks, string Activity)> _open = new();

    public PipelineReporter(Cmdlet cmdlet) => _cmdlet = cmdlet;

    public void Progress(HdxProgress progress)
    {
        long now = Stopwatch.GetTimestamp();
        bool seen = _open.TryGetValue(progress.ActivityId, out var last);
        if (!progress.Completed && seen && now - last.LastTicks < ThrottleTicks)
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
            _open[progress.ActivityId] = (now, progress.Activity);
        }

        _cmdlet.WriteProgress(record);
    }

    public void Verbose(string message) => _cmdlet.WriteVerbose(message);

    public void Warning(string message) => _cmdlet.WriteWarning(message);

    /// <summary>Closes any activity the runtime left open (for example after an error or a stop).</summary>
    public void CompleteAll()
    {
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
