using System.Threading.Channels;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Serving;

/// <summary>A token as the scheduler hands it to the request: the token and, when asked for, its log-probabilities.</summary>
internal readonly record struct StreamedToken(GeneratedToken Token, TokenLogprobs? Logprobs);

/// <summary>
/// One generation inside the <see cref="BatchScheduler"/>: its prompt, KV sequence (owned from submission on: the
/// scheduler disposes it when the generation ends), how much of the prompt is prefilled, and the channel its tokens go
/// to. The request's handler reads the channel; the scheduler writes it and completes it (with an error on failure).
/// </summary>
internal sealed class ScheduledSequence
{
    private readonly Channel<StreamedToken> _output = Channel.CreateUnbounded<StreamedToken>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly int[] _step = new int[1];

    public ScheduledSequence(int[] prompt, KvSequence sequence, TokenChooser chooser, int vocabSize, int? topLogprobs,
        CancellationToken cancellation)
    {
        Prompt = prompt;
        Sequence = sequence;
        Chooser = chooser;
        Logits = new float[vocabSize];
        TopLogprobs = topLogprobs;
        Cancellation = cancellation;
        Prefilled = sequence.Length;
    }

    public int[] Prompt { get; }

    public KvSequence Sequence { get; }

    public TokenChooser Chooser { get; }

    public float[] Logits { get; }

    /// <summary>Alternatives per token to report; null: no log-probabilities.</summary>
    public int? TopLogprobs { get; }

    public CancellationToken Cancellation { get; }

    /// <summary>Prompt positions whose keys and values are in the cache (cached prefix included).</summary>
    public int Prefilled { get; set; }

    public bool IsPrefilling => Prefilled < Prompt.Length;

    public ChannelReader<StreamedToken> Tokens => _output.Reader;

    /// <summary>Why the generation ended, once it has.</summary>
    public FinishReason? FinishReason { get; private set; }

    /// <summary>The one-token input of this sequence's next decode step.</summary>
    public ReadOnlyMemory<int> DecodeInput()
    {
        _step[0] = Chooser.LastToken;
        return _step;
    }

    public void Emit(StreamedToken token) => _output.Writer.TryWrite(token);

    /// <summary>Ends the generation: frees its KV blocks and completes the channel (with <paramref name="error"/> if it failed).</summary>
    public void Finish(FinishReason reason, Exception? error = null)
    {
        FinishReason = reason;
        Sequence.Dispose();
        _output.Writer.TryComplete(error);
    }
}
