using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// One /v1/completions or /v1/chat/completions request from body to last byte: parse, resolve the model by served
/// name, build the prompt, check the context length, take a slot, reserve KV blocks, hand the sequence to the model's
/// batch scheduler and write its tokens (streamed as Server-Sent Events or as one JSON response). A client that goes
/// away mid-stream cancels the generation, which frees its KV blocks at the scheduler's next step.
/// </summary>
internal sealed class CompletionHandler(HdxServer server, ServerOptions options, ServerMetrics metrics)
{
    /// <summary>OpenAI's default max_tokens for /v1/completions; chat defaults to the rest of the context.</summary>
    private const int DefaultCompletionTokens = 16;

    public async Task<int> HandleAsync(HttpListenerContext context, bool chat, Stopwatch clock, CancellationToken stopping)
    {
        byte[] body = await HttpExchange.ReadBodyAsync(context.Request, options.MaxRequestBytes, stopping).ConfigureAwait(false);
        CompletionRequest request = CompletionRequestParser.Parse(body, chat);
        ServedModel model = server.Find(request.Model) ?? throw OpenAiError.ModelNotFound(request.Model);
        int[] prompt = Prompt(model, request);
        HostEngine engine = model.Model.Engine;
        int maxTokens = MaxTokens(request, prompt.Length, engine.MaxLength);
        ResolvedSampling sampling = Sampling(model, request, maxTokens);
        options.Log?.Invoke($"{context.Request.HttpMethod} {context.Request.Url?.AbsolutePath} model={model.Name} prompt_tokens={prompt.Length} max_tokens={maxTokens} stream={request.Stream}; prompt: {Describe(request)}");

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        await server.AdmitAsync(cancel.Token).ConfigureAwait(false);
        try
        {
            ScheduledSequence scheduled = await Schedule(model, prompt, sampling, request, cancel.Token).ConfigureAwait(false);
            var head = ResponseHead.New(model.Name, chat);
            return request.Stream
                ? await StreamAsync(context, model, head, request, scheduled, clock, cancel).ConfigureAwait(false)
                : await RespondAsync(context.Response, model, head, scheduled, clock).ConfigureAwait(false);
        }
        finally
        {
            // Whatever ended the exchange, the scheduler drops a generation still running for it.
            cancel.Cancel();
            server.Release();
        }
    }

    private int[] Prompt(ServedModel model, CompletionRequest request)
    {
        LoadedModel loaded = model.Model;
        if (request.PromptIds is { } ids)
        {
            if (ids.Any(id => id >= loaded.Engine.VocabSize))
            {
                throw OpenAiError.Invalid($"Token ids in 'prompt' must be below the model's vocabulary size of {loaded.Engine.VocabSize}.", "prompt");
            }

            return ids;
        }

        if (!request.IsChat)
        {
            return loaded.EncodePrompt(request.PromptText ?? string.Empty);
        }

        string text;
        try
        {
            text = options.ChatRenderer(loaded.Path, request.Messages!);
        }
        catch (HdxException error)
        {
            throw OpenAiError.Invalid(error.Message, "messages");
        }

        int[] rendered = loaded.Tokenizer.Encode(text, addSpecialTokens: false);
        return rendered.Length > 0 ? rendered : throw OpenAiError.Invalid("The messages render to an empty prompt.", "messages");
    }

    private static int MaxTokens(CompletionRequest request, int promptTokens, int maxLength)
    {
        string param = request.IsChat ? "messages" : "prompt";
        if (promptTokens >= maxLength)
        {
            throw OpenAiError.ContextLength(
                $"This model's maximum context length is {maxLength} tokens. However, your prompt has {promptTokens} tokens. Please reduce the length of the prompt.", param);
        }

        int room = maxLength - promptTokens;
        if (request.MaxTokens is int asked)
        {
            return asked <= room ? asked : throw OpenAiError.ContextLength(
                $"This model's maximum context length is {maxLength} tokens. However, you requested {promptTokens + asked} tokens ({promptTokens} in the prompt, {asked} for the completion). Please reduce the prompt or the completion length.",
                "max_tokens");
        }

        return request.IsChat ? room : Math.Min(DefaultCompletionTokens, room);
    }

    /// <summary>OpenAI semantics: always sampling, temperature 0 = greedy; values not given come from the model's generation_config.json; top-k off unless asked.</summary>
    private static ResolvedSampling Sampling(ServedModel model, CompletionRequest request, int maxTokens)
    {
        var sampling = new SamplingOptions
        {
            DoSample = true,
            Temperature = request.Temperature,
            TopK = request.TopK ?? model.Model.Manifest.Generation.TopK ?? 0,
            TopP = request.TopP,
            RepetitionPenalty = request.RepetitionPenalty,
            Seed = request.Seed,
            MaxNewTokens = maxTokens,
            Stop = request.Stop,
        };
        try
        {
            return sampling.Resolve(model.Model.Manifest.Generation);
        }
        catch (HdxException error)
        {
            throw OpenAiError.Invalid(error.Message, error.Target as string);
        }
    }

    private static async Task<ScheduledSequence> Schedule(ServedModel model, int[] prompt, ResolvedSampling sampling, CompletionRequest request,
        CancellationToken cancellation)
    {
        HostEngine engine = model.Model.Engine;
        // The last token is never fed back: the sequence needs room for prompt + max_tokens - 1 positions. Waiting for
        // KV room blocks, so it happens on a pool thread, never on the scheduler's.
        int capacity = Math.Max(prompt.Length, prompt.Length + sampling.MaxNewTokens - 1);
        KvSequence sequence;
        try
        {
            sequence = await Task.Run(() => engine.CreateSequence(prompt, capacity, cancellation), cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw OpenAiError.Unavailable("The server is shutting down.");
        }
        catch (HdxException error) when (error.ErrorId == "KvCacheTooSmall")
        {
            throw OpenAiError.ContextLength(error.Message, "max_tokens");
        }

        var chooser = new TokenChooser(model.Model.Tokenizer, prompt, sampling, engine.VocabSize, new HashSet<int>(request.IgnoreEos ? [] : model.Model.EosTokenIds),
            sampling.MaxNewTokens, Stopwatch.StartNew());
        var scheduled = new ScheduledSequence(prompt, sequence, chooser, engine.VocabSize, request.Logprobs ? request.TopLogprobs : null, cancellation);
        model.Scheduler.Submit(scheduled);
        return scheduled;
    }

    private async Task<int> StreamAsync(HttpListenerContext context, ServedModel model, ResponseHead head, CompletionRequest request,
        ScheduledSequence scheduled, Stopwatch clock, CancellationTokenSource cancel)
    {
        HttpListenerResponse response = context.Response;
        NoDelay.Enable(context);
        var counters = metrics.For(model.Name);
        counters.AddPrompt(scheduled.Prompt.Length);
        HttpExchange.StartEvents(response);
        TimeSpan last = TimeSpan.Zero;
        int generated = 0, textOffset = 0;
        try
        {
            try
            {
                await foreach (StreamedToken streamed in scheduled.Tokens.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    GeneratedToken token = streamed.Token;
                    Observe(counters, clock, ref last, generated++);
                    string frame = OpenAiJson.Frame(json => OpenAiJson.Chunk(json, head, token.Text, head.IsChat && token.Index == 0, streamed.Logprobs,
                        token.TokenId, textOffset, model.Model.Tokenizer, token.FinishReason, request.IncludeUsage));
                    textOffset += token.Text.Length;
                    await HttpExchange.WriteEventAsync(response, frame).ConfigureAwait(false);
                }
            }
            catch (ChannelClosedException error)
            {
                // The engine failed this step: say so in the stream (the status line is long gone) and end it.
                options.Log?.Invoke($"generation failed: {error.InnerException?.GetType().Name}: {error.InnerException?.Message}");
                await HttpExchange.WriteEventAsync(response, OpenAiJson.Frame(OpenAiError.Internal().Write)).ConfigureAwait(false);
                return 500;
            }

            if (scheduled.FinishReason == FinishReason.Cancelled)
            {
                return 503; // the server is stopping: the stream ends without [DONE]
            }

            counters.Duration.Observe(clock.Elapsed.TotalSeconds);
            if (request.IncludeUsage)
            {
                var usage = new Usage(scheduled.Prompt.Length, generated, scheduled.Sequence.CachedTokens);
                await HttpExchange.WriteEventAsync(response, OpenAiJson.Frame(json => OpenAiJson.UsageChunk(json, head, usage))).ConfigureAwait(false);
            }

            await HttpExchange.WriteEventAsync(response, OpenAiJson.Done).ConfigureAwait(false);
            return 200;
        }
        catch (Exception error) when (HttpExchange.IsDisconnect(error))
        {
            cancel.Cancel();
            options.Log?.Invoke($"client disconnected after {generated} tokens; generation cancelled");
            return 499;
        }
    }

    private async Task<int> RespondAsync(HttpListenerResponse response, ServedModel model, ResponseHead head, ScheduledSequence scheduled,
        Stopwatch clock)
    {
        var counters = metrics.For(model.Name);
        counters.AddPrompt(scheduled.Prompt.Length);
        TimeSpan last = TimeSpan.Zero;
        var text = new System.Text.StringBuilder();
        var logprobs = scheduled.TopLogprobs is null ? null : new List<(int, TokenLogprobs)>();
        int generated = 0;
        try
        {
            await foreach (StreamedToken streamed in scheduled.Tokens.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                Observe(counters, clock, ref last, generated++);
                text.Append(streamed.Token.Text);
                logprobs?.Add((streamed.Token.TokenId, streamed.Logprobs!));
            }
        }
        catch (ChannelClosedException error)
        {
            options.Log?.Invoke($"generation failed: {error.InnerException?.GetType().Name}: {error.InnerException?.Message}");
            throw OpenAiError.Internal();
        }

        if (scheduled.FinishReason == FinishReason.Cancelled)
        {
            throw OpenAiError.Unavailable("The server is shutting down.");
        }

        counters.Duration.Observe(clock.Elapsed.TotalSeconds);
        var usage = new Usage(scheduled.Prompt.Length, generated, scheduled.Sequence.CachedTokens);
        byte[] json = OpenAiJson.Json(w => OpenAiJson.Response(w, head, text.ToString(), logprobs, model.Model.Tokenizer, scheduled.FinishReason, usage));
        await HttpExchange.WriteJsonAsync(response, 200, json).ConfigureAwait(false);
        return 200;
    }

    private static void Observe(ServerMetrics.ModelCounters counters, Stopwatch clock, ref TimeSpan last, int index)
    {
        TimeSpan now = clock.Elapsed;
        (index == 0 ? counters.TimeToFirstToken : counters.InterTokenLatency).Observe((now - last).TotalSeconds);
        counters.AddGenerated();
        last = now;
    }

    private static string Describe(CompletionRequest request) => request switch
    {
        { PromptText: { } text } => text,
        { PromptIds: { } ids } => $"[{ids.Length} token ids]",
        { Messages: { } messages } => string.Join(" | ", messages.Select(m => $"{m.Role}: {m.Content}")),
        _ => string.Empty,
    };
}
