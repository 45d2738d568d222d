namespace HyperDex.Runtime.Generation;

/// <summary>
/// Streams text while watching for stop strings: text that could still be the start of a stop string is held back
/// until it is decided, so no record ever shows part of a stop string. On a match, everything from the stop string on
/// is dropped.
/// </summary>
public sealed class StopStringFilter
{
    private readonly IReadOnlyList<string> _stops;
    private string _pending = string.Empty;

    public StopStringFilter(IReadOnlyList<string> stops) => _stops = stops;

    /// <summary>Feeds a decoded piece; returns the text that is now safe to emit and whether a stop string was reached.</summary>
    public string Push(string piece, out bool stopped)
    {
        stopped = false;
        if (_stops.Count == 0)
        {
            return piece;
        }

        string text = _pending + piece;
        int cut = -1;
        foreach (string stop in _stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }

        if (cut >= 0)
        {
            stopped = true;
            _pending = string.Empty;
            return text[..cut];
        }

        int hold = 0;
        foreach (string stop in _stops)
        {
            for (int length = Math.Min(stop.Length - 1, text.Length); length > hold; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    hold = length;
                    break;
                }
            }
        }

        _pending = text[(text.Length - hold)..];
        return text[..(text.Length - hold)];
    }

    /// <summary>Releases what is held back at the end of generation.</summary>
    public string Flush()
    {
        string rest = _pending;
        _pending = string.Empty;
        return rest;
    }
}
