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

    /// <summary>Bytes received before a rate (and a time remaining) is shown.</summary>
    private const long MinRateBytes = 64 * 1024;

    private readonly IHdxReporter _reporter;
    private readonly string _activity;
    private readonly long _totalBytes;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly SortedSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _doneBytes;
    private long _receivedBytes;
    private long _lastReport = long.MinValue;
    private long _firstReceived;
    private string? _note;

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
        Interlocked.CompareExchange(ref _firstReceived, Stopwatch.GetTimestamp(), 0);
        Interlocked.Add(ref _receivedBytes, bytes);
        Add(bytes);
    }

    /// <summary>What is being done besides receiving (verifying a resumed file), shown before the byte counts; null clears it.</summary>
    public void Note(string? note)
    {
        lock (_gate)
        {
            _note = note;
        }

        Report(force: true);
    }

    /// <summary>The activity's first record, shown before any byte arrives (listing the repository can take seconds).</summary>
    public static void Listing(IHdxReporter reporter, HubRepoId repo, string revision) =>
        reporter.Progress(new HdxProgress(ActivityId, $"Downloading {repo}", $"Listing the files of {repo}@{revision}", -1));

    /// <summary>Closes the activity <see cref="Listing"/> opened when nothing needed downloading.</summary>
    public static void NothingToDownload(IHdxReporter reporter, HubRepoId repo) =>
        reporter.Progress(new HdxProgress(ActivityId, $"Downloading {repo}", "Done: every file is in the cache", 100, Completed: true));

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
            long received = Interlocked.Read(ref _receivedBytes);
            long first = Interlocked.Read(ref _firstReceived);
            // The rate over the time since the first byte arrived, once it means something: measured from the start
            // (listing, connecting) or over the first few packets it gave estimates of a day for a minute's download.
            double seconds = first == 0 ? 0 : Stopwatch.GetElapsedTime(first).TotalSeconds;
            double rate = seconds >= 1 && received >= MinRateBytes ? received / seconds : 0;
            int remaining = rate > 0 ? (int)Math.Min(int.MaxValue, (_totalBytes - done) / rate) : -1;
            string status = string.Create(CultureInfo.InvariantCulture,
                $"{(_note is null ? string.Empty : _note + ": ")}{FormatBytes(done)} of {FormatBytes(_totalBytes)}{(rate > 0 ? $" at {FormatBytes((long)rate)}/s" : string.Empty)}");
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
