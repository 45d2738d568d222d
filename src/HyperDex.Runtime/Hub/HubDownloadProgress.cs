using System.Diagnostics;
using System.Globalization;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Hub;

/// <summary>
/// Totals the bytes of all parallel downloads and reports one activity (bytes, rate, ETA, files in flight) at most
/// every 250 ms. Called from worker threads, so the reporter it is given must be thread-safe (the module queues).
/// </summary>
internal sealed class HubDownloadProgress
{
    public const int ActivityId = 5;
    private static readonly long ThrottleTicks = Stopwatch.Frequency / 4;

    private readonly IHdxReporter _reporter;
    private readonly string _activity;
    private readonly long _totalBytes;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly SortedSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _doneBytes;
    private long _receivedBytes;
    private long _lastReport = long.MinValue;

    public HubDownloadProgress(IHdxReporter reporter, HubRepoId repo, long totalBytes)
    {
        _reporter = reporter;
        _activity = $"Downloading {repo}";
        _totalBytes = Math.Max(totalBytes, 1);
    }

    /// <summary>Bytes that came over the network in this call.</summary>
    public long DownloadedBytes => Interlocked.Read(ref _receivedBytes);

    /// <summary>Bytes now available without coming over the network (a reused blob, a resumed prefix; negative when discarded).</summary>
    public void Add(long bytes)
    {
        Interlocked.Add(ref _doneBytes, bytes);
        Report(force: false);
    }

    /// <summary>Bytes received from the server.</summary>
    public void Received(long bytes)
    {
        Interlocked.Add(ref _receivedBytes, bytes);
        Add(bytes);
    }

    public void Started(string file)
    {
        lock (_gate)
        {
            _inFlight.Add(file);
        }

        Report(force: true);
    }

    public void Finished(string file)
    {
        lock (_gate)
        {
            _inFlight.Remove(file);
        }

        Report(force: true);
    }

    public void Complete()
    {
        lock (_gate)
        {
            _reporter.Progress(new HdxProgress(ActivityId, _activity, "Done", 100, Completed: true));
        }
    }

    private void Report(bool force)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (!force && now - _lastReport < ThrottleTicks)
            {
                return;
            }

            _lastReport = now;
            long done = Interlocked.Read(ref _doneBytes);
            double seconds = _clock.Elapsed.TotalSeconds;
            double rate = seconds > 0.2 ? Interlocked.Read(ref _receivedBytes) / seconds : 0;
            int remaining = rate > 0 ? (int)Math.Min(int.MaxValue, (_totalBytes - done) / rate) : -1;
            string status = string.Create(CultureInfo.InvariantCulture,
                $"{FormatBytes(done)} of {FormatBytes(_totalBytes)}{(rate > 0 ? $" at {FormatBytes((long)rate)}/s" : string.Empty)}");
            _reporter.Progress(new HdxProgress(ActivityId, _activity, status, (int)Math.Clamp(done * 100 / _totalBytes, 0, 100),
                remaining, _inFlight.Count > 0 ? string.Join(", ", _inFlight) : null));
        }
    }

    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
