namespace HyperDex.PowerShell.Commands;

/// <summary>
/// While an answer streams, reads Ctrl+C as a key (not as PowerShell's stop signal) and cancels only that answer,
/// so an interactive chat survives it. Does nothing when input is redirected (no keyboard to read).
/// </summary>
internal sealed class ConsoleInterrupt : IDisposable
{
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationTokenSource _stopWatching = new();
    private readonly Task? _watcher;
    private readonly bool _previousTreatControlC;

    public ConsoleInterrupt(CancellationToken outer)
    {
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(outer);
        if (Console.IsInputRedirected)
        {
            return;
        }

        _previousTreatControlC = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        _watcher = Task.Run(Watch, CancellationToken.None);
    }

    /// <summary>Cancelled by Ctrl+C during this answer, or by the command being stopped.</summary>
    public CancellationToken Token => _cancellation.Token;

    public bool Interrupted { get; private set; }

    private void Watch()
    {
        while (!_stopWatching.IsCancellationRequested)
        {
            if (!Console.KeyAvailable)
            {
                _stopWatching.Token.WaitHandle.WaitOne(25);
                continue;
            }

            var key = Console.ReadKey(intercept: true);
            if (key.KeyChar == '\u0003' || (key.Key == ConsoleKey.C && key.Modifiers.HasFlag(ConsoleModifiers.Control)))
            {
                Interrupted = true;
                _cancellation.Cancel();
                return;
            }
        }
    }

    public void Dispose()
    {
        _stopWatching.Cancel();
        _watcher?.Wait();
        if (_watcher is not null)
        {
            Console.TreatControlCAsInput = _previousTreatControlC;
        }

        _stopWatching.Dispose();
        _cancellation.Dispose();
    }
}
