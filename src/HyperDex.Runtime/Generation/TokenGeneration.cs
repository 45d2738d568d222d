using System.Collections;
using System.Diagnostics;
using System.Text;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// One generation as a pull-based stream: each MoveNext runs one forward step on the caller's thread (the engine's
/// workers do the math) and yields the token, so a consumer that stops pulling stops generation, with no thread hop
/// per token. Dispose releases the KV blocks at once; call it in a finally (Select-Object -First skips EndProcessing).
/// Cancellation is checked before every step and ends the stream with <see cref="FinishReason.Cancelled"/>.
/// </summary>
public sealed class TokenGeneration : IEnumerable<GeneratedToken>, IEnumerator<GeneratedToken>
{
    /// <summary>Prompt rows per prefill step: large enough for efficient batches, small enough to stop promptly.</summary>
    public const int PrefillChunk = 512;

    private readonly HostEngine _engine;
    private readonly int[] _prompt;
    private readonly KvSequence _sequence;
    private readonly Sampler _sampler;
    private readonly IIncrementalDecoder _decoder;
    private readonly int _tokenizerVocabSize;
    private readonly StopStringFilter _stops;
    private readonly HashSet<int> _eos;
    private readonly CancellationToken _cancellation;
    private readonly float[] _logits;
    private readonly int[] _step = new int[1];
    private readonly int _budget;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<int> _generated = new();
    private readonly StringBuilder _text = new();
    private TimeSpan _firstTokenAt;
    private TimeSpan _lastTokenAt;
    private bool _enumerated;
    private bool _disposed;

    internal TokenGeneration(HostEngine engine, IHdxTokenizer tokenizer, int[] promptIds, ResolvedSampling sampling,
        IEnumerable<int> eosIds, bool usePrefixCache, CancellationToken cancellation)
    {
        _engine = engine;
        _prompt = promptIds;
        PromptIds = promptIds;
        Sampling = sampling;
        _budget = Math.Min(sampling.MaxNewTokens, engine.MaxLength - promptIds.Length);
        _sampler = new Sampler(sampling, engine.VocabSize);
        foreach (int id in promptIds)
        {
            _sampler.Observe(id);
        }

        _decoder = tokenizer.CreateIncrementalDecoder(skipSpecialTokens: true);
        _tokenizerVocabSize = tokenizer.VocabSize;
        _stops = new StopStringFilter(sampling.Stop);
        _eos = new HashSet<int>(eosIds);
        _cancellation = cancellation;
        _logits = new float[engine.VocabSize];
        // The last token is never fed back, so the sequence needs room for prompt + budget - 1 positions.
        int capacity = Math.Max(promptIds.Length, promptIds.Length + _budget - 1);
        _sequence = usePrefixCache ? engine.CreateSequence(promptIds, capacity, cancellation) : engine.CreateSequence(capacity, cancellation);
        CachedTokens = _sequence.CachedTokens;
    }

    /// <summary>Prompt tokens whose keys and values came from the prefix cache instead of being computed.</summary>
    public int CachedTokens { get; }

    public IReadOnlyList<int> PromptIds { get; }

    public ResolvedSampling Sampling { get; }

    public IReadOnlyList<int> GeneratedIds => _generated;

    /// <summary>The concatenated text of every token so far.</summary>
    public string Text => _text.ToString();

    /// <summary>Set once the stream has ended.</summary>
    public FinishReason? FinishReason { get; private set; }

    public TimeSpan TimeToFirstToken => _firstTokenAt;

    public TimeSpan Elapsed => _lastTokenAt;

    /// <summary>Decode speed: tokens after the first over the time after the first (all tokens over the total if only one).</summary>
    public double TokensPerSecond => _generated.Count switch
    {
        0 => 0,
        1 => _lastTokenAt > TimeSpan.Zero ? 1 / _lastTokenAt.TotalSeconds : 0,
        _ => (_generated.Count - 1) / Math.Max(1e-9, (_lastTokenAt - _firstTokenAt).TotalSeconds),
    };

    public GeneratedToken Current { get; private set; }

    object IEnumerator.Current => Current;

    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (FinishReason is not null)
        {
            return false;
        }

        if (_cancellation.IsCancellationRequested)
        {
            Finish(Generation.FinishReason.Cancelled);
            return false;
        }

        if (_generated.Count == 0)
        {
            // The prompt goes through in batches of PrefillChunk rows (matrix-matrix work), checking for Ctrl+C between them.
            // Only the part the prefix cache did not supply is computed.
            for (int offset = CachedTokens; offset < _prompt.Length; offset += PrefillChunk)
            {
                if (offset > CachedTokens && _cancellation.IsCancellationRequested)
                {
                    Finish(Generation.FinishReason.Cancelled);
                    return false;
                }

                _engine.Forward(_sequence, _prompt.AsSpan(offset, Math.Min(PrefillChunk, _prompt.Length - offset)), _logits);
            }
        }
        else
        {
            _step[0] = _generated[^1];
            _engine.Forward(_sequence, _step, _logits);
        }

        int token = _sampler.Next(_logits, out float logprob);
        _sampler.Observe(token);
        _generated.Add(token);

        string text;
        FinishReason? reason = null;
        if (_eos.Contains(token))
        {
            reason = Generation.FinishReason.Eos;
            text = _stops.Push(_decoder.Flush(), out bool stopped) + _stops.Flush();
            reason = stopped ? Generation.FinishReason.Stop : reason;
        }
        else
        {
            // A model's vocabulary is often padded beyond its tokenizer's (to a multiple of 64 or 128); such an id
            // has no text and decodes to nothing, as HF's tokenizer.decode does. The token record still carries it.
            text = _stops.Push(token < _tokenizerVocabSize ? _decoder.Push(token) : string.Empty, out bool stopped);
            if (stopped)
            {
                reason = Generation.FinishReason.Stop;
            }
            else if (_generated.Count >= _budget)
            {
                reason = Generation.FinishReason.Length;
                text += _stops.Push(_decoder.Flush(), out stopped);
                text += stopped ? string.Empty : _stops.Flush();
                reason = stopped ? Generation.FinishReason.Stop : reason;
            }
        }

        _lastTokenAt = _clock.Elapsed;
        if (_generated.Count == 1)
        {
            _firstTokenAt = _lastTokenAt;
        }

        _text.Append(text);
        Current = new GeneratedToken(_generated.Count - 1, token, text, logprob, _lastTokenAt, DateTime.UtcNow, reason);
        if (reason is { } finished)
        {
            Finish(finished);
        }

        return true;
    }

    private void Finish(FinishReason reason)
    {
        FinishReason = reason;
        _sequence.Dispose();
    }

    public IEnumerator<GeneratedToken> GetEnumerator()
    {
        if (_enumerated)
        {
            throw new InvalidOperationException("a generation stream can be enumerated once");
        }

        _enumerated = true;
        return this;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Reset() => throw new NotSupportedException();

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _sequence.Dispose();
        }
    }
}
