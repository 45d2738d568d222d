using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Templating;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Start-HdxGeneration: generates text from a compiled model on the host CPU engine, one GenerationResult per prompt,
/// or token by token (-Stream: TokenRecord objects; -Sse: Server-Sent Events frames in OpenAI's text_completion chunk format, one stream per prompt). Tokens are pulled from the
/// engine on the pipeline thread, so a downstream Select-Object -First stops generation at once.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "HdxGeneration", DefaultParameterSetName = ResultSet)]
[OutputType(typeof(GenerationResult), ParameterSetName = [ResultSet])]
[OutputType(typeof(TokenRecord), ParameterSetName = [StreamSet])]
[OutputType(typeof(string), ParameterSetName = [SseSet])]
public sealed class StartHdxGenerationCommand : SamplingCmdlet
{
    private const string ResultSet = "Result";
    private const string StreamSet = "Stream";
    private const string SseSet = "Sse";

    /// <summary>Preference variable: the most bytes pooled models may hold; the least recently used idle ones are evicted.</summary>
    private const string BudgetVariable = "HdxModelMemoryBudget";

    /// <summary>Preference variable: the default -PrefixCacheSize (bytes) for models this session loads.</summary>
    private const string PrefixCacheVariable = "HdxPrefixCacheSize";

    private SamplingOptions _options = new();
    private ModelLease? _lease;
    private string? _leasePath;
    private TokenGeneration? _active;

    /// <summary>A compiled model folder, or a CompiledModel object (from Invoke-HdxCompile) by its Path.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    [ArgumentCompleter(typeof(CompiledModelCompleter))]
    public PSObject Model { get; set; } = null!;

    /// <summary>
    /// Prompts; each produces one generation. None or empty: generate from the BOS token alone. Typed as objects so a
    /// piped CompiledModel binds to -Model by its Path without also being coerced into a prompt string.
    /// </summary>
    [Parameter(Position = 1, ValueFromPipeline = true)]
    [AllowEmptyString]
    [AllowEmptyCollection]
    [AllowNull]
    public PSObject[]? Prompt { get; set; }

    /// <summary>
    /// A conversation instead of -Prompt (hashtables or objects with role and content): rendered with the model's chat
    /// template and a generation prompt, tokenized without adding BOS again, generation stops at the end of the turn.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public object[]? Messages { get; set; }

    /// <summary>With -Messages: the Jinja chat template to use instead of the model's.</summary>
    [Parameter]
    [ValidateNotNull]
    public string? ChatTemplate { get; set; }

    [Parameter]
    [ValidateNotNull]
    public string[] Stop { get; set; } = [];

    /// <summary>The compiled device-count variant to run; else the model object's count, else the folder's only one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(NumDeviceCompleter))]
    [ValidateRange(1, 64)]
    public int NumDevice { get; set; } = 1;

    [Parameter(Mandatory = true, ParameterSetName = StreamSet)]
    public SwitchParameter Stream { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = SseSet)]
    public SwitchParameter Sse { get; set; }

    /// <summary>Load the model for this call only (and drop any pooled copy) instead of using the session's model pool.</summary>
    [Parameter]
    public SwitchParameter NoCache { get; set; }

    /// <summary>Compute the whole prompt and cache nothing for this call (the model's prefix cache is left as it is).</summary>
    [Parameter]
    public SwitchParameter NoPrefixCache { get; set; }

    /// <summary>
    /// KV memory (bytes) set aside for the prefix cache when this call loads the model, beyond what running generations
    /// use; 0 turns prefix caching off for the model. A pooled model loaded with another size is reloaded.
    /// </summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long PrefixCacheSize { get; set; }

    protected override void BeginProcessing()
    {
        _options = BoundSampling() with { Stop = Stop };

        try
        {
            // Explicit values are checked before any model loads; model defaults are checked per generation.
            _options.Resolve(new Runtime.Compiled.GenerationDefaults());
        }
        catch (HdxException error)
        {
            ThrowTerminating(error);
        }
    }

    protected override void ProcessRecord()
    {
        LoadedModel model;
        try
        {
            model = Acquire(ModelPath());
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        List<string> prompts;
        try
        {
            prompts = Messages is null ? Prompts() : [ChatPrompt(model)];
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        foreach (string prompt in prompts)
        {
            if (CancelToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                _active = Messages is null
                    ? model.Generate(prompt, _options, usePrefixCache: !NoPrefixCache, CancelToken)
                    : model.Generate(ChatPromptBuilder.Encode(model.Tokenizer, prompt), _options, usePrefixCache: !NoPrefixCache, CancelToken);
            }
            catch (HdxException error)
            {
                WriteError(error);
                continue;
            }
            catch (OperationCanceledException) when (CancelToken.IsCancellationRequested)
            {
                return; // Ctrl+C while waiting for KV cache room held by other generations
            }

            try
            {
                Emit(_active, prompt, model.Path, Sse ? new SseFormatter(model.Manifest.ModelId) : null);
            }
            catch (HdxException error)
            {
                WriteError(error); // a failure while tokens stream ends this prompt only, with its ErrorId; the next one runs
            }
            finally
            {
                _active.Dispose();
                _active = null;
            }
        }
    }

    /// <param name="sse">With -Sse: this prompt's own OpenAI-format stream (its own id, ending with [DONE]).</param>
    private void Emit(TokenGeneration generation, string prompt, string modelPath, SseFormatter? sse)
    {
        foreach (GeneratedToken token in generation)
        {
            if (Stream)
            {
                WriteObject(new TokenRecord(token.Index, token.TokenId, token.Text, token.Logprob, token.Elapsed, token.Timestamp,
                    token.FinishReason?.ToName(), prompt));
            }
            else if (sse is not null)
            {
                WriteObject(sse.Frame(token));
            }
            else
            {
                Reporter.Progress(new HdxProgress(1, "Generating", $"{token.Index + 1} of at most {generation.Sampling.MaxNewTokens} tokens",
                    (int)(100L * (token.Index + 1) / generation.Sampling.MaxNewTokens), CurrentOperation: prompt));
            }
        }

        if (generation.FinishReason == FinishReason.Cancelled)
        {
            return;
        }

        if (Sse)
        {
            WriteObject(SseFormatter.Done);
        }
        else if (!Stream)
        {
            Reporter.Progress(new HdxProgress(1, "Generating", "Done", Completed: true));
            WriteObject(new GenerationResult(prompt, generation.Text, generation.GeneratedIds.ToArray(), generation.PromptIds.Count,
                generation.FinishReason!.Value.ToName(), generation.TimeToFirstToken, generation.Elapsed, generation.TokensPerSecond,
                generation.Sampling.IsGreedy ? null : generation.Sampling.Seed, modelPath, generation.CachedTokens));
        }
    }

    /// <summary>The prompts of this record: strings as given; a piped object that carries the model (has a Path) is not a prompt.</summary>
    private List<string> Prompts()
    {
        var prompts = new List<string>();
        foreach (PSObject? item in Prompt ?? [])
        {
            if (item?.BaseObject is string text)
            {
                prompts.Add(text);
            }
            else if (item is not null && item.Properties["Path"] is null)
            {
                prompts.Add(item.ToString());
            }
        }

        return prompts.Count > 0 ? prompts : [string.Empty];
    }

    /// <summary>-Messages rendered with the model's chat template (or -ChatTemplate); -Prompt strings may not come too.</summary>
    private string ChatPrompt(LoadedModel model)
    {
        if (Prompt?.Any(p => p?.BaseObject is string) == true)
        {
            throw new HdxException("MessagesWithPrompt", HdxErrorKind.InvalidArgument, "Give either -Prompt or -Messages, not both.",
                null, "Put the prompt text into a user message instead.");
        }

        return ChatMessages.Render(model.Path, ChatMessages.Convert(Messages!), addGenerationPrompt: true, ChatTemplate, null, null);
    }

    private string ModelPath() => ModelArgument.ResolvePath(this, Model);

    private LoadedModel Acquire(string path)
    {
        if (_lease is not null && _leasePath == path)
        {
            return _lease.Model;
        }

        _lease?.Dispose();
        _lease = null;
        object? budget = SessionState.PSVariable.GetValue(BudgetVariable);
        ModelPool.MemoryBudgetBytes = budget is null ? null : LanguagePrimitives.ConvertTo<long>(budget);

        object? cacheSize = MyInvocation.BoundParameters.ContainsKey(nameof(PrefixCacheSize))
            ? PrefixCacheSize : SessionState.PSVariable.GetValue(PrefixCacheVariable);
        int numDevice = DeviceCountChoice.Resolve(MyInvocation.BoundParameters.ContainsKey(nameof(NumDevice)) ? NumDevice : null, Model, path);
        _lease = ModelPool.Acquire(path, numDevice, NoCache, cacheSize is null ? null : LanguagePrimitives.ConvertTo<long>(cacheSize));
        _leasePath = path;
        WriteVerbose(_lease.Loaded
            ? $"Loaded {path} for {numDevice} device(s): {_lease.Model.Engine.MemoryBytes / (1 << 20)} MiB of weights and KV cache"
            : $"Using the pooled {path} ({numDevice} device(s))");
        return _lease.Model;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _active?.Dispose();
            _lease?.Dispose();
        }

        base.Dispose(disposing);
    }
}
