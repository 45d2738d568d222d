using System.Diagnostics;
using System.Text;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.Runtime.Generation;

/// <summary>
/// Turns each step's logits into the next <see cref="GeneratedToken"/>: sampling (with the repetition history),
/// detokenization, and the end conditions (EOS, stop strings, the token budget). Shared by the pull-based
/// <see cref="TokenGeneration"/> and the serving scheduler, so both end and detokenize a generation the same way.
/// </summary>
internal sealed class TokenChooser
{
    private readonly Sampler _sampler;
    private readonly IIncrementalDecoder _decoder;
    private readonly int _tokenizerVocabSize;
    private readonly StopStringFilter _stops;
    private readonly IReadOnlySet<int> _eos;
    private readonly Stopwatch _clock;
    private readonly List<int> _generated = new();
    private readonly StringBuilder _text = new();

    /// <param name="budget">Most tokens to produce (MaxNewTokens, cut to the room the model's MaxLength leaves).</param>
    public TokenChooser(IHdxTokenizer tokenizer, IReadOnlyList<int> promptIds, ResolvedSampling sampling, int vocabSize, IReadOnlySet<int> eosIds,
        int budget, Stopwatch clock)
    {
        _sampler = new Sampler(sampling, vocabSize);
        foreach (int id in promptIds)
        {
            _sampler.Observe(id);
        }

        _decoder = tokenizer.CreateIncrementalDecoder(skipSpecialTokens: true);
        _tokenizerVocabSize = tokenizer.VocabSize;
        _stops = new StopStringFilter(sampling.Stop);
        _eos = eosIds;
        _clock = clock;
        Budget = budget;
    }

    public int Budget { get; }

    public IReadOnlyList<int> Generated => _generated;

    /// <summary>The id to feed back for the next step.</summary>
    public int LastToken => _generated[^1];

    public string Text => _text.ToString();

    public TimeSpan FirstTokenAt { get; private set; }

    public TimeSpan LastTokenAt { get; private set; }

    /// <summary>Chooses the next token from <paramref name="logits"/> (modified in place); its FinishReason is set when it is the last.</summary>
    public GeneratedToken Next(Span<float> logits)
    {
        int token = _sampler.Next(logits, out float logprob);
        _sampler.Observe(token);
        _generated.Add(token);

        string text;
        FinishReason? reason = null;
        if (_eos.Contains(token))
        {
            text = _stops.Push(_decoder.Flush(), out bool stopped) + _stops.Flush();
            reason = stopped ? FinishReason.Stop : FinishReason.Eos;
        }
        else
        {
            // A model's vocabulary is often padded beyond its tokenizer's (to a multiple of 64 or 128); such an id
            // has no text and decodes to nothing, as HF's tokenizer.decode does. The token record still carries it.
            text = _stops.Push(token < _tokenizerVocabSize ? _decoder.Push(token) : string.Empty, out bool stopped);
            if (stopped)
            {
                reason = FinishReason.Stop;
            }
            else if (_generated.Count >= Budget)
            {
                reason = FinishReason.Length;
                text += _stops.Push(_decoder.Flush(), out stopped);
                text += stopped ? string.Empty : _stops.Flush();
                reason = stopped ? FinishReason.Stop : reason;
            }
        }

        LastTokenAt = _clock.Elapsed;
        if (_generated.Count == 1)
        {
            FirstTokenAt = LastTokenAt;
        }

        _text.Append(text);
        return new GeneratedToken(_generated.Count - 1, token, text, logprob, LastTokenAt, DateTime.UtcNow, reason);
    }
}
