using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// Continuous batching for one model: a dedicated thread runs steps over every active sequence at once through
/// <see cref="Engine.HostEngine.Forward(IReadOnlyList{Engine.BatchItem})"/>. New sequences join between steps. Each step carries every decoding sequence's
/// one token first, then prompt rows of prefilling sequences up to <see cref="StepRows"/> in total, so a long prompt is
/// prefilled in chunks interleaved with the others' decode steps instead of stalling them.
/// </summary>
internal sealed class BatchScheduler : IDisposable
{
    /// <summary>Most rows (tokens) one step computes: large enough for efficient prefill, small enough to keep decode steps short.</summary>
    public const int StepRows = TokenGeneration.PrefillChunk;

    /// <summary>Prompt rows a step carries even when decoding sequences fill <see cref="StepRows"/>.</summary>
    private const int MinPrefillRows = 64;

    private readonly HostEngine _engine;
    private readonly int _stepRows;
    private readonly object _sync = new();
    private readonly List<ScheduledSequence> _incoming = new();
    private readonly List<ScheduledSequence> _active = new();
    private readonly List<BatchItem> _batch = new();
    private readonly List<ScheduledSequence> _batched = new();
    private readonly Thread _thread;
    private bool _stopping;

    /// <param name="stepRows">Rows per step (tests use a small value to exercise chunked prefill on small models).</param>
    public BatchScheduler(HostEngine engine, string name, int stepRows = StepRows)
    {
        _engine = engine;
        _stepRows = stepRows;
        _thread = new Thread(Run) { IsBackground = true, Name = $"HyperDex scheduler {name}" };
        _thread.Start();
    }

    /// <summary>Sequences submitted and not yet finished.</summary>
    public int Running
    {
        get
        {
            lock (_sync)
            {
                return _incoming.Count + _active.Count;
            }
        }
    }

    /// <summary>Hands <paramref name="sequence"/> to the scheduler, which from now on owns its KV sequence.</summary>
    public void Submit(ScheduledSequence sequence)
    {
        lock (_sync)
        {
            if (_stopping)
            {
                sequence.Finish(FinishReason.Cancelled);
                return;
            }

            _incoming.Add(sequence);
            Monitor.Pulse(_sync);
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_sync)
            {
                while (!_stopping && _incoming.Count == 0 && _active.Count == 0)
                {
                    Monitor.Wait(_sync);
                }

                if (_stopping)
                {
                    break;
                }

                _active.AddRange(_incoming);
                _incoming.Clear();
            }

            Step();
        }

        // Stopped: whatever is left ends as cancelled and gives its blocks back.
        lock (_sync)
        {
            _active.AddRange(_incoming);
            _incoming.Clear();
        }

        foreach (var sequence in _active)
        {
            sequence.Finish(FinishReason.Cancelled);
        }

        _active.Clear();
    }

    /// <summary>One batched step over the active sequences, then one token for each that finished its prompt or decoded.</summary>
    private void Step()
    {
        _active.RemoveAll(s =>
        {
            if (s.Cancellation.IsCancellationRequested)
            {
                s.Finish(FinishReason.Cancelled);
                return true;
            }

            return false;
        });

        _batch.Clear();
        _batched.Clear();
        int rows = 0;
        foreach (var sequence in _active)
        {
            if (!sequence.IsPrefilling)
            {
                _batch.Add(new BatchItem(sequence.Sequence, sequence.DecodeInput(), sequence.Logits));
                _batched.Add(sequence);
                rows++;
            }
        }

        // Prefill in arrival order with the step's remaining rows, but at least MinPrefillRows (or a whole step if smaller) so prompts advance
        // however many sequences decode.
        int budget = Math.Max(_stepRows - rows, Math.Min(MinPrefillRows, _stepRows));
        foreach (var sequence in _active)
        {
            if (sequence.IsPrefilling && budget > 0)
            {
                int count = Math.Min(budget, sequence.Prompt.Length - sequence.Prefilled);
                _batch.Add(new BatchItem(sequence.Sequence, sequence.Prompt.AsMemory(sequence.Prefilled, count), sequence.Logits));
                _batched.Add(sequence);
                budget -= count;
            }
        }

        if (_batch.Count == 0)
        {
            return;
        }

        try
        {
            _engine.Forward(_batch);
        }
        catch (Exception error)
        {
            // A failed step leaves its sequences' caches undefined: they end with the error; the others go on.
            foreach (var sequence in _batched)
            {
                sequence.Finish(FinishReason.Cancelled, error);
                _active.Remove(sequence);
            }

            return;
        }

        for (int i = 0; i < _batched.Count; i++)
        {
            var sequence = _batched[i];
            if (sequence.IsPrefilling)
            {
                sequence.Prefilled += _batch[i].Tokens.Length;
                if (sequence.IsPrefilling)
                {
                    continue; // more prompt to go: these logits are not the last position's
                }
            }

            GeneratedToken generated;
            TokenLogprobs? logprobs;
            try
            {
                // The raw distribution is read before the sampler changes the logits in place.
                float[]? raw = sequence.TopLogprobs is null ? null : (float[])sequence.Logits.Clone();
                generated = sequence.Chooser.Next(sequence.Logits);
                logprobs = raw is null ? null : TokenLogprobs.From(raw, generated.TokenId, sequence.TopLogprobs!.Value);
            }
            catch (Exception error)
            {
                // One sequence's failure (e.g. an id its tokenizer cannot decode) ends that sequence only.
                sequence.Finish(FinishReason.Cancelled, error);
                _active.Remove(sequence);
                continue;
            }

            sequence.Emit(new StreamedToken(generated, logprobs));
            if (generated.FinishReason is { } reason)
            {
                sequence.Finish(reason);
                _active.Remove(sequence);
            }
        }
    }

    /// <summary>Stops the thread; sequences still running end as cancelled and release their KV blocks.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            _stopping = true;
            Monitor.PulseAll(_sync);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }
}
