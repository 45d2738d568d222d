using System.Collections;
using System.Diagnostics;
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

    private readonly IExecutionBackend _engine;
    private readonly int[] _prompt;
    private readonly KvSequence _sequence;
    private readonly TokenChooser _chooser;
    private readonly CancellationToken _cancellation;
    private readonly float[] _logits;
    private readonly int[] _step = new int[1];
    private bool _enumerated;
    private bool _disposed;

    internal TokenGeneration(IExecutionBackend engine, IHdxTokenizer tokenizer, int[] promptIds, ResolvedSampling sampling,
        IEnumerable<int> eosIds, bool usePrefixCache, CancellationToken cancellation)
    {
        _engine = engine;
        _prompt = promptIds;
        PromptIds = promptIds;
        Sampling = sampling;
        int budget = Math.Min(sampling.MaxNewTokens, engine.MaxLength - promptIds.Length);
        _chooser = new TokenChooser(tokenizer, promptIds, sampling, engine.VocabSize, new HashSet<int>(eosIds), budget, Stopwatch.StartNew());
        _cancellation = cancellation;
        _logits = new float[engine.VocabSize];
        // The last token is never fed back, so the sequence needs room for prompt + budget - 1 positions.
        int capacity = Math.Max(promptIds.Length, promptIds.Length + budget - 1);
        _sequence = usePrefixCache ? engine.CreateSequence(promptIds, capacity, cancellation) : engine.CreateSequence(capacity, cancellation);
        CachedTokens = _sequence.CachedTokens;
    }

    /// <summary>Prompt tokens whose keys and values came from the prefix cache instead of being computed.</summary>
    public int CachedTokens { get; }

    public IReadOnlyList<int> PromptIds { get; }

    public ResolvedSampling Sampling { get; }

    public IReadOnlyList<int> GeneratedIds => _chooser.Generated;

    /// <summary>The concatenated text of every token so far.</summary>
    public string Text => _chooser.Text;

    /// <summary>Set once the stream has ended.</summary>
    public FinishReason? FinishReason { get; private set; }

    public TimeSpan TimeToFirstToken => _chooser.FirstTokenAt;

    public TimeSpan Elapsed => _chooser.LastTokenAt;

    /// <summary>Decode speed: tokens after the first over the time after the first (all tokens over the total if only one).</summary>
    public double TokensPerSecond => _chooser.Generated.Count switch
    {
        0 => 0,
        1 => Elapsed > TimeSpan.Zero ? 1 / Elapsed.TotalSeconds : 0,
        _ => (_chooser.Generated.Count - 1) / Math.Max(1e-9, (Elapsed - TimeToFirstToken).TotalSeconds),
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

        if (_chooser.Generated.Count == 0)
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
            _step[0] = _chooser.LastToken;
            _engine.Forward(_sequence, _step, _logits);
        }

        Current = _chooser.Next(_logits);
        if (Current.FinishReason is { } finished)
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
