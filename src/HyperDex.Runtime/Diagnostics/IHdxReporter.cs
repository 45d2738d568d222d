namespace HyperDex.Runtime.Diagnostics;

/// <summary>A progress update of a long operation (compile phases, downloads, conversion).</summary>
/// <param name="ActivityId">Distinguishes concurrent activities; nested ones pass their parent.</param>
/// <param name="PercentComplete">-1 when unknown.</param>
/// <param name="SecondsRemaining">-1 when unknown.</param>
public sealed record HdxProgress(int ActivityId, string Activity, string Status, int PercentComplete = -1,
    int SecondsRemaining = -1, string? CurrentOperation = null, bool Completed = false, int ParentActivityId = -1);

/// <summary>
/// How the runtime reports progress, verbose and warning messages. The module implements it on the pipeline
/// thread; callers outside PowerShell may pass <see cref="NullReporter.Instance"/>.
/// Implementations must be safe to call from any thread only if the operation says it reports from workers.
/// </summary>
public interface IHdxReporter
{
    void Progress(HdxProgress progress);

    void Verbose(string message);

    void Warning(string message);
}

public sealed class NullReporter : IHdxReporter
{
    public static readonly NullReporter Instance = new();

    public void Progress(HdxProgress progress)
    {
    }

    public void Verbose(string message)
    {
    }

    public void Warning(string message)
    {
    }
}
