using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Compiler;

/// <summary>One progress bar over the compile phases (2 convert, 3 map, 4 instructions), with a verbose line per phase.</summary>
internal sealed class CompileProgress
{
    private static readonly (string Name, int Start, int End)[] Phases =
    {
        ("Check supported model", 0, 2), ("Download", 2, 2), ("Convert", 2, 60), ("Optimized model mapping", 60, 95), ("Optimized instructions", 95, 100),
    };

    private readonly IHdxReporter _reporter;
    private readonly string _activity;

    public CompileProgress(IHdxReporter reporter, string activity)
    {
        _reporter = reporter;
        _activity = activity;
    }

    public void Begin(int phase, string detail)
    {
        _reporter.Verbose($"Phase-{phase} {Phases[phase].Name}: {detail}");
        Report(phase, 0, null);
    }

    public void Report(int phase, double fraction, string? operation)
    {
        var (name, start, end) = Phases[phase];
        int percent = start + (int)((end - start) * Math.Clamp(fraction, 0, 1));
        _reporter.Progress(new HdxProgress(1, _activity, $"Phase {phase}/4: {name}", percent, CurrentOperation: operation));
    }

    public void Complete() => _reporter.Progress(new HdxProgress(1, _activity, "Done", 100, Completed: true));
}
