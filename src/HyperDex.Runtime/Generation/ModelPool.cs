using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// Loaded models kept for the session (the process), keyed by full path, device count and the manifest's write time
/// (a recompiled model is reloaded). Leases count users: an evicted model is disposed when its last user is done.
/// </summary>
public static class ModelPool
{
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);

    /// <summary>Models currently pooled.</summary>
    public static int Count
    {
        get
        {
            lock (Entries)
            {
                return Entries.Count;
            }
        }
    }

    /// <summary>
    /// The pooled model for <paramref name="path"/>, loading it on first use. With <paramref name="noCache"/> any pooled
    /// copy is evicted and a private one is loaded, disposed when the lease ends.
    /// </summary>
    public static ModelLease Acquire(string path, int numDevice = 1, bool noCache = false)
    {
        string full = Path.GetFullPath(path);
        string key = $"{full}|{numDevice}|{File.GetLastWriteTimeUtc(CompiledLayout.Manifest(full)).Ticks}";
        if (noCache)
        {
            Evict(full);
            return new ModelLease(LoadedModel.Load(full, numDevice), null);
        }

        Entry entry;
        lock (Entries)
        {
            if (Entries.TryGetValue(key, out var existing) && existing.Model.IsValueCreated && existing.Model.Value.Engine.IsFaulted)
            {
                Remove(key, existing);
                existing = null;
            }

            if (existing is null)
            {
                EvictLocked(full);
                existing = new Entry(new Lazy<LoadedModel>(() => LoadedModel.Load(full, numDevice)), full);
                Entries[key] = existing;
            }

            entry = existing;
            entry.Users++;
        }

        try
        {
            return new ModelLease(entry.Model.Value, entry);
        }
        catch
        {
            lock (Entries)
            {
                entry.Users--;
                Remove(key, entry);
            }

            throw;
        }
    }

    /// <summary>Drops every pooled model of <paramref name="path"/> (all device counts); in-use ones go when released.</summary>
    public static void Evict(string path)
    {
        lock (Entries)
        {
            EvictLocked(Path.GetFullPath(path));
        }
    }

    public static void Clear()
    {
        lock (Entries)
        {
            foreach (var (key, entry) in Entries.ToList())
            {
                Remove(key, entry);
            }
        }
    }

    internal static void Release(Entry entry)
    {
        lock (Entries)
        {
            if (--entry.Users == 0 && entry.Evicted)
            {
                DisposeEntry(entry);
            }
        }
    }

    private static void EvictLocked(string full)
    {
        foreach (var (key, entry) in Entries.Where(e => e.Value.Path == full).ToList())
        {
            Remove(key, entry);
        }
    }

    private static void Remove(string key, Entry entry)
    {
        if (Entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
        {
            Entries.Remove(key);
        }

        entry.Evicted = true;
        if (entry.Users == 0)
        {
            DisposeEntry(entry);
        }
    }

    private static void DisposeEntry(Entry entry)
    {
        if (entry.Model.IsValueCreated)
        {
            try
            {
                entry.Model.Value.Dispose();
            }
            catch (InvalidOperationException)
            {
                // The load itself failed: nothing to dispose.
            }
        }
    }

    internal sealed class Entry(Lazy<LoadedModel> model, string path)
    {
        public Lazy<LoadedModel> Model { get; } = model;

        public string Path { get; } = path;

        public int Users { get; set; }

        public bool Evicted { get; set; }
    }
}

/// <summary>A use of a loaded model; Dispose releases it (and disposes a -NoCache model).</summary>
public sealed class ModelLease : IDisposable
{
    private readonly ModelPool.Entry? _entry;
    private bool _released;

    internal ModelLease(LoadedModel model, ModelPool.Entry? entry)
    {
        Model = model;
        _entry = entry;
    }

    public LoadedModel Model { get; }

    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        if (_entry is null)
        {
            Model.Dispose();
        }
        else
        {
            ModelPool.Release(_entry);
        }
    }
}
