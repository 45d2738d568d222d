using System.Collections;
using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Templating;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// An interactive conversation with a compiled model in the terminal: each answer streams as it is generated; the
/// whole history is sent each turn through the model's chat template, so the prefix cache computes only the new
/// tokens. /clear starts over, /bye (or end of input) leaves, Ctrl+C stops the current answer and keeps the session.
/// </summary>
[Cmdlet(VerbsCommon.Enter, "HdxChat")]
[OutputType(typeof(void))]
public sealed class EnterHdxChatCommand : SamplingCmdlet
{
    private ModelLease? _lease;

    /// <summary>A compiled model folder, or a CompiledModel object (from Invoke-HdxCompile) by its Path.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Path")]
    public PSObject Model { get; set; } = null!;

    /// <summary>A system message that opens the conversation (and survives /clear).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SystemPrompt { get; set; }

    /// <summary>The Jinja chat template to use instead of the model's.</summary>
    [Parameter]
    [ValidateNotNull]
    public string? ChatTemplate { get; set; }

    /// <summary>Which of several named templates of the tokenizer config to use.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TemplateName { get; set; }

    /// <summary>Extra template variables (enable_thinking, date_string ...).</summary>
    [Parameter]
    [ValidateNotNull]
    public IDictionary? Variables { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 64)]
    public int NumDevice { get; set; } = 1;

    protected override void ProcessRecord()
    {
        var options = BoundSampling();
        LoadedModel model;
        try
        {
            options.Resolve(new Runtime.Compiled.GenerationDefaults());
            _lease?.Dispose();
            _lease = ModelPool.Acquire(ModelArgument.ResolvePath(this, Model), NumDevice);
            model = _lease.Model;
            // Fail now, not at the first message, when the model has no template.
            _ = ChatTemplate ?? ChatPromptBuilder.Load(model.Path).Select(TemplateName);
        }
        catch (HdxException error)
        {
            ThrowTerminating(error);
            return;
        }

        Converse(model, options);
    }

    private void Converse(LoadedModel model, SamplingOptions options)
    {
        var ui = Host.UI;
        var history = NewHistory();
        ui.WriteLine($"Chatting with {Path.GetFileName(model.Path)}. /clear starts over, /bye leaves, Ctrl+C stops an answer.");
        while (!CancelToken.IsCancellationRequested)
        {
            ui.Write(">>> ");
            string? line;
            try
            {
                line = ui.ReadLine();
            }
            catch (PSInvalidOperationException error)
            {
                // A host without input (pwsh -NonInteractive, a job): a chat needs a terminal.
                ThrowTerminating(new HdxException("ChatNeedsTerminal", HdxErrorKind.NotSupported,
                    $"Enter-HdxChat needs an interactive terminal: {error.Message}", null,
                    "Run it in an interactive pwsh, or use Start-HdxGeneration -Messages from scripts."));
                return;
            }

            if (line is null || line.Trim() == "/bye")
            {
                return;
            }

            if (line.Trim() == "/clear")
            {
                history = NewHistory();
                ui.WriteLine("Cleared the conversation.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            history.Add(Message("user", line));
            string? answer = Answer(model, options, history);
            if (answer is null)
            {
                history.RemoveAt(history.Count - 1); // the turn failed: forget its question
            }
            else
            {
                history.Add(Message("assistant", answer));
            }
        }
    }

    /// <summary>Streams one answer to the host; the answer's text, or null when the turn could not start.</summary>
    private string? Answer(LoadedModel model, SamplingOptions options, List<object?> history)
    {
        TokenGeneration generation;
        using var interrupt = new ConsoleInterrupt(CancelToken);
        try
        {
            string prompt = ChatMessages.Render(model.Path, history, addGenerationPrompt: true, ChatTemplate, TemplateName, Variables);
            generation = model.Generate(ChatPromptBuilder.Encode(model.Tokenizer, prompt), options, usePrefixCache: true, interrupt.Token);
        }
        catch (HdxException error)
        {
            WriteError(error);
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        using (generation)
        {
            try
            {
                foreach (GeneratedToken token in generation)
                {
                    Host.UI.Write(token.Text);
                }
            }
            catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
            {
                // Stopped while waiting for KV cache room: the answer so far stands.
            }

            Host.UI.WriteLine(interrupt.Interrupted ? " ^C" : string.Empty);
            WriteVerbose($"{generation.GeneratedIds.Count} tokens at {generation.TokensPerSecond:F1} tokens/s; " +
                $"{generation.CachedTokens} of {generation.PromptIds.Count} prompt tokens came from the prefix cache");
            return generation.Text;
        }
    }

    private List<object?> NewHistory() => SystemPrompt is null ? [] : [Message("system", SystemPrompt)];

    private static Dictionary<string, object?> Message(string role, string content) =>
        new(StringComparer.Ordinal) { ["role"] = role, ["content"] = content };

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _lease?.Dispose();
        }

        base.Dispose(disposing);
    }
}
