using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine.Kernels;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The host CPU execution engine for one compiled variant: one worker per compiled device, each running its own
/// <see cref="DeviceProgram"/> over its weight shard and KV part, in lock-step, joined at the all-reduces. Device 0
/// runs on the calling thread; the others on persistent threads. Forward steps of different sequences are
/// serialised, so one engine serves concurrent generations.
/// </summary>
public sealed class HostEngine : IExecutionBackend
{
    private readonly DeviceState[] _devices;
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _startSignals;
    private readonly Barrier? _barrier;
    private readonly StepContext _step;
    private readonly AllReduceGroup _group;
    private readonly object _stepLock = new();
    private volatile Exception? _fault;
    private volatile bool _stopping;
    private bool _disposed;

    private HostEngine(string modelPath, CompiledManifest manifest, DeviceState[] devices, StepContext step, AllReduceGroup group,
        Barrier? barrier, KvBlockPool blocks)
    {
        ModelPath = modelPath;
        Manifest = manifest;
        _devices = devices;
        _step = step;
        _group = group;
        _barrier = barrier;
        Blocks = blocks;
        _threads = new Thread[devices.Length - 1];
        _startSignals = new SemaphoreSlim[devices.Length - 1];
        for (int d = 1; d < devices.Length; d++)
        {
            int device = d;
            _startSignals[d - 1] = new SemaphoreSlim(0);
            _threads[d - 1] = new Thread(() => DeviceLoop(device)) { IsBackground = true, Name = $"hdx-device{device}" };
            _threads[d - 1].Start();
        }
    }

    public string ModelPath { get; }

    public CompiledManifest Manifest { get; }

    public int NumDevice => _devices.Length;

    public int VocabSize => _devices[0].Program.VocabSize;

    public int MaxLength => _devices[0].Program.MaxLength;

    public KvBlockPool Blocks { get; }

    /// <summary>
    /// Weight images (mapped), the KV block pool and the activation and scratch buffers of every device: what keeping
    /// this engine loaded costs.
    /// </summary>
    public long MemoryBytes => _devices.Sum(d => d.MemoryBytes);

    /// <summary>
    /// Makes the whole KV block pool resident now. The pool's pages otherwise fault in as blocks are first used
    /// (a one-shot generation touches only its own blocks), so a server's resident memory would climb for as long as
    /// new blocks come into use and each fault would land in a request's step; a server commits it at start instead,
    /// as llama.cpp's server clears its KV buffer at creation. Safe while sequences run: no value changes.
    /// </summary>
    internal void CommitKvCache()
    {
        foreach (var device in _devices)
        {
            foreach (var storage in device.Kv.Values)
            {
                storage.Commit();
            }
        }
    }

    /// <summary>True after a step failed inside a worker; the engine must then be reloaded.</summary>
    public bool IsFaulted => _fault is not null;

    /// <summary>Loads the variant compiled for <paramref name="numDevice"/> devices from a compiled model folder.</summary>
    public static HostEngine Load(string modelPath, int numDevice = 1, HostEngineOptions? options = null)
    {
        options ??= new HostEngineOptions();
        if (options.PrefixCacheBytes < 0)
        {
            throw new HdxException("InvalidPrefixCacheSize", HdxErrorKind.InvalidArgument,
                $"the prefix cache size must be 0 or more bytes, not {options.PrefixCacheBytes}", options.PrefixCacheBytes);
        }

        CompiledManifest manifest = CompiledModelFiles.ReadManifest(modelPath);
        if (!manifest.Variants.Any(v => v.NumDevice == numDevice))
        {
            throw new HdxException("DeviceCountNotCompiled", HdxErrorKind.InvalidArgument,
                $"{modelPath} is not compiled for {numDevice} device(s); it holds {string.Join(", ", manifest.Variants.Select(v => v.NumDevice))}",
                numDevice, $"Compile it again with -NumDevice {numDevice}, or pick one of the compiled counts.");
        }

        int threads = Math.Max(1, options.ThreadsPerDevice ?? Environment.ProcessorCount / numDevice);
        var devices = new List<DeviceState>();
        try
        {
            for (int d = 0; d < numDevice; d++)
            {
                DeviceProgram program = CompiledModelFiles.ReadProgram(modelPath, numDevice, d);
                ParamIndex index = CompiledModelFiles.ReadParamIndex(modelPath, numDevice, d);
                var image = new ParamImage(CompiledModelFiles.Existing(CompiledLayout.ParamImage(modelPath, numDevice, d)), index);
                devices.Add(new DeviceState(d, program, image, new ComputePool(threads, $"hdx-d{d}")));
            }

            DeviceProgram first = devices[0].Program;
            foreach (var device in devices)
            {
                if (device.Program.MaxLength != first.MaxLength || device.Program.KvBlockSize != first.KvBlockSize || device.Program.VocabSize != first.VocabSize
                    || device.Program.KvBlockSize <= 0 || device.Program.MaxLength <= 0)
                {
                    throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
                        $"the device programs of {modelPath} disagree on MaxLength, KvBlockSize or VocabSize", modelPath);
                }
            }

            var kv = KvPoolSize.For(devices.Select(d => d.Program).ToList(), options);
            int blockCount = kv.BlockCount;
            var step = new StepContext(first.VocabSize);
            Barrier? barrier = numDevice > 1 ? new Barrier(numDevice) : null;
            var group = new AllReduceGroup(numDevice, ResidualWidth(first, modelPath), barrier);
            var rotaryTables = new Dictionary<string, RotaryTable>();
            foreach (var device in devices)
            {
                new ProgramBinder(device, step, group, rotaryTables, CompiledLayout.Program(modelPath, numDevice, device.Device)).Bind(blockCount);
            }

            var pool = kv.CreatePool(first.KvBlockSize, options.PrefixCacheBytes != 0);
            return new HostEngine(modelPath, manifest, devices.ToArray(), step, group, barrier, pool);
        }
        catch
        {
            foreach (var device in devices)
            {
                device.Dispose();
            }

            throw;
        }
    }

    /// <summary>Starts a sequence with room for <paramref name="capacity"/> positions, waiting for free KV blocks if needed.</summary>
    public KvSequence CreateSequence(int capacity, CancellationToken cancellation = default)
    {
        CheckCapacity(capacity);
        return Blocks.Acquire(ReadOnlySpan<int>.Empty, capacity, useCache: false, cancellation);
    }

    /// <summary>
    /// Starts a sequence for <paramref name="prompt"/> that takes the longest prefix the prefix cache holds (never the
    /// last token, whose logits the caller needs): its <see cref="KvSequence.Length"/> is then the number of cached
    /// positions, and the caller forwards only prompt[Length..]. The blocks it fills are cached for later sequences.
    /// </summary>
    public KvSequence CreateSequence(ReadOnlySpan<int> prompt, int capacity, CancellationToken cancellation = default)
    {
        CheckCapacity(capacity);
        if (prompt.Length > capacity)
        {
            throw new HdxException("SequenceTooLong", HdxErrorKind.InvalidArgument,
                $"a prompt of {prompt.Length} tokens does not fit a sequence of {capacity} positions", prompt.Length);
        }

        KvSequence sequence = Blocks.Acquire(prompt, capacity, useCache: true, cancellation);
        if (sequence.CopySource >= 0)
        {
            // The prefix ends inside a cached block: copy it into the sequence's own block (copy-on-write), whose
            // remaining positions the prefill then overwrites. The source is immutable while referenced.
            int target = sequence.Blocks[sequence.Length / Blocks.BlockSize];
            foreach (var device in _devices)
            {
                foreach (var storage in device.Kv.Values)
                {
                    storage.CopyBlock(sequence.CopySource, target);
                }
            }

            Blocks.Release(sequence.CopySource);
            sequence.CopySource = -1;
        }

        return sequence;
    }

    private void CheckCapacity(int capacity)
    {
        if (capacity <= 0 || capacity > MaxLength)
        {
            throw new HdxException("SequenceTooLong", HdxErrorKind.InvalidArgument,
                $"a sequence of {capacity} positions does not fit the model's MaxLength of {MaxLength}", capacity);
        }
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> (the whole prompt in prefill, one token in decode) through the model at the
    /// sequence's next positions, appends their keys and values, and writes the last token's logits.
    /// </summary>
    public void Forward(KvSequence sequence, ReadOnlySpan<int> tokens, Span<float> logits)
    {
        Validate(sequence, tokens);
        lock (_stepLock)
        {
            ThrowIfFaulted();
            BeginStep(tokens.Length, 1);
            AddRows(sequence, tokens, 0);
            _step.LogitRows[0] = tokens.Length - 1;
            _step.SingleSequence = true;
            RunStep();
            _step.Logits.Row(0)[..VocabSize].CopyTo(logits);
            Advance(sequence, tokens);
        }

        Blocks.RegisterFull(sequence);
    }

    /// <summary>
    /// One forward step over several sequences at once (continuous batching): each item's tokens (a decode token, or
    /// a chunk of a prompt) at its sequence's next positions, all rows through every projection together, so the
    /// weights are read once per step rather than once per sequence; each item gets its last token's logits.
    /// </summary>
    public void Forward(IReadOnlyList<BatchItem> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        int rows = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            var item = batch[i];
            Validate(item.Sequence, item.Tokens.Span);

            if (AppearsBefore(batch, i))
            {
                throw new HdxException("SequenceInBatchTwice", HdxErrorKind.InvalidArgument, "a sequence may appear only once in a batch");
            }

            if (item.Logits.Length < VocabSize)
            {
                throw new ArgumentException($"each item needs room for {VocabSize} logits", nameof(batch));
            }

            rows = checked(rows + item.Tokens.Length);
        }

        lock (_stepLock)
        {
            ThrowIfFaulted();
            BeginStep(rows, batch.Count);
            int row = 0;
            for (int i = 0; i < batch.Count; i++)
            {
                row = AddRows(batch[i].Sequence, batch[i].Tokens.Span, row);
                _step.LogitRows[i] = row - 1;
            }

            _step.SingleSequence = batch.Count == 1;
            RunStep();
            for (int i = 0; i < batch.Count; i++)
            {
                _step.Logits.Row(i)[..VocabSize].CopyTo(batch[i].Logits.Span);
                Advance(batch[i].Sequence, batch[i].Tokens.Span);
            }
        }

        foreach (var item in batch)
        {
            Blocks.RegisterFull(item.Sequence);
        }
    }

    /// <summary>
    /// Whether batch[i]'s sequence is also an earlier item's: pairwise rather than through a set, since a step's batch
    /// is a few dozen sequences and the check then allocates nothing.
    /// </summary>
    private static bool AppearsBefore(IReadOnlyList<BatchItem> batch, int i)
    {
        for (int j = 0; j < i; j++)
        {
            if (ReferenceEquals(batch[j].Sequence, batch[i].Sequence))
            {
                return true;
            }
        }

        return false;
    }

    private void Validate(KvSequence sequence, ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.IsEmpty || sequence.Length + tokens.Length > sequence.Capacity)
        {
            throw new HdxException("SequenceTooLong", HdxErrorKind.InvalidArgument,
                $"{sequence.Length + tokens.Length} positions exceed the sequence's capacity of {sequence.Capacity}");
        }

        foreach (int token in tokens)
        {
            if ((uint)token >= (uint)VocabSize)
            {
                throw new HdxException("TokenOutOfRange", HdxErrorKind.InvalidArgument,
                    $"token id {token} is outside the model's vocabulary of {VocabSize}", token);
            }
        }
    }

    private void ThrowIfFaulted()
    {
        if (_fault is not null)
        {
            throw new HdxException("EngineFaulted", HdxErrorKind.InvalidData,
                "the engine failed in an earlier step and must be reloaded", ModelPath, innerException: _fault);
        }
    }

    /// <summary>Sizes the step for <paramref name="rows"/> rows and <paramref name="logitRows"/> sequences' logits.</summary>
    private void BeginStep(int rows, int logitRows)
    {
        _step.EnsureRows(rows, logitRows);
        _step.Rows = rows;
        _step.LogitCount = logitRows;
        _group.EnsureRows(rows);
        foreach (var device in _devices)
        {
            device.EnsureRows(rows);
        }
    }

    /// <summary>Writes a sequence's tokens as the step's rows from <paramref name="row"/>; returns the next free row.</summary>
    private int AddRows(KvSequence sequence, ReadOnlySpan<int> tokens, int row)
    {
        for (int t = 0; t < tokens.Length; t++, row++)
        {
            _step.Tokens[row] = tokens[t];
            _step.Positions[row] = sequence.Length + t;
            _step.BlockTables[row] = sequence.Blocks;
        }

        return row;
    }

    private void RunStep()
    {
        for (int d = 0; d < _startSignals.Length; d++)
        {
            _startSignals[d].Release();
        }

        RunDevice(0);
        if (_fault is not null)
        {
            throw new InvalidOperationException("a device worker failed during a forward step", _fault);
        }
    }

    private static void Advance(KvSequence sequence, ReadOnlySpan<int> tokens)
    {
        if (sequence.Tokens is { } ids)
        {
            tokens.CopyTo(ids.AsSpan(sequence.Length));
        }

        sequence.Length += tokens.Length;
    }

    private void DeviceLoop(int device)
    {
        while (true)
        {
            _startSignals[device - 1].Wait();
            if (_stopping)
            {
                return;
            }

            RunDevice(device);
        }
    }

    private void RunDevice(int device)
    {
        try
        {
            _devices[device].RunStep(_step);
            _barrier?.SignalAndWait();
        }
        catch (Exception error)
        {
            // Leave the lock-step group so the other workers finish the step instead of waiting forever.
            _fault ??= error;
            _barrier?.RemoveParticipant();
        }
    }

    private static int ResidualWidth(DeviceProgram program, string modelPath)
    {
        var embed = program.Instructions.FirstOrDefault(i => i.Op == OpCode.Embed);
        var buffer = embed is null || embed.Outputs.Count == 0 ? null : program.Buffers.FirstOrDefault(b => b.Name == embed.Outputs[0]);
        return buffer?.Width ?? throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
            $"the program of {modelPath} has no Embed instruction writing a declared buffer", modelPath);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_stepLock)
        {
            _stopping = true;
            foreach (var signal in _startSignals)
            {
                signal.Release();
            }

            foreach (var thread in _threads)
            {
                thread.Join();
            }

            foreach (var device in _devices)
            {
                device.Dispose();
            }

            foreach (var signal in _startSignals)
            {
                signal.Dispose();
            }

            _barrier?.Dispose();
        }
    }
}
