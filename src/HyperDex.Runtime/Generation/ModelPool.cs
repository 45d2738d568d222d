using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Engine;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// Loaded models kept for the session (the process), keyed by full path, device count and the manifest's write time
/// (a recompiled model is reloaded). Leases count users: an evicted model is disposed when its last user is done.
/// With a <see cref="MemoryBudgetBytes"/>, the least recently used idle models are evicted to stay within it.
/// </summary>
public static class ModelPool
{
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);
    private static long _clock;

    /// <summary>Most bytes (weights + KV cache, <see cref="HostEngine.MemoryBytes"/>) pooled models may hold; null = no limit.</summary>
    public static long? MemoryBudgetBytes { get; set; }

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
    /// <param name="prefixCacheBytes">KV room for the prefix cache (<see cref="HostEngineOptions.PrefixCacheBytes"/>); a pooled model loaded with another size is reloaded.</param>
    public static ModelLease Acquire(string path, int numDevice = 1, bool noCache = false, long? prefixCacheBytes = null)
    {
        string full = Path.GetFullPath(path);
        Models.CompiledModelCatalog.MarkUsed(full);
        string key = $"{full}|{numDevice}|{File.GetLastWriteTimeUtc(CompiledLayout.Manifest(full)).Ticks}|{prefixCacheBytes}";
        var options = new HostEngineOptions { PrefixCacheBytes = prefixCacheBytes };
        if (noCache)
        {
            Evict(full);
            return new ModelLease(LoadedModel.Load(full, numDevice, options), null, loaded: true);
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
                existing = new Entry(new Lazy<LoadedModel>(() => LoadedModel.Load(full, numDevice, options)), full);
                Entries[key] = existing;
            }

            entry = existing;
            entry.Users++;
            entry.LastUsed = ++_clock;
        }

        try
        {
            bool loaded = !entry.Model.IsValueCreated;
            var lease = new ModelLease(entry.Model.Value, entry, loaded);
            EnforceBudget();
            return lease;
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

    /// <summary>The pooled models that have finished loading, least recently used first.</summary>
    public static IReadOnlyList<LoadedModel> Loaded()
    {
        lock (Entries)
        {
            return Entries.Values.Where(e => e.Model.IsValueCreated && !e.Model.Value.Engine.IsFaulted)
                .OrderBy(e => e.LastUsed).Select(e => e.Model.Value).ToList();
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

    /// <summary>Evicts idle models, least recently used first, while the pool holds more than the budget.</summary>
    private static void EnforceBudget()
    {
        lock (Entries)
        {
            if (MemoryBudgetBytes is not long budget)
            {
                return;
            }

            long total = Entries.Values.Where(e => e.Model.IsValueCreated).Sum(e => e.Model.Value.Engine.MemoryBytes);
            foreach (var (key, entry) in Entries.Where(e => e.Value.Users == 0 && e.Value.Model.IsValueCreated).OrderBy(e => e.Value.LastUsed).ToList())
            {
                if (total <= budget)
                {
                    break;
                }

                total -= entry.Model.Value.Engine.MemoryBytes;
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

        public long LastUsed { get; set; }
    }
}

/// <summary>A use of a loaded model; Dispose releases it (and disposes a -NoCache model).</summary>
public sealed class ModelLease : IDisposable
{
    private readonly ModelPool.Entry? _entry;
    private bool _released;

    internal ModelLease(LoadedModel model, ModelPool.Entry? entry, bool loaded)
    {
        Model = model;
        _entry = entry;
        Loaded = loaded;
    }

    public LoadedModel Model { get; }

    /// <summary>Whether this lease loaded the model (false: it came from the pool).</summary>
    public bool Loaded { get; }

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
