using System.Collections;
using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Renders a conversation into the prompt text a model expects, with the model's own chat template, exactly as
/// transformers' apply_chat_template(tokenize=False) does. Messages come from -Messages or the pipeline.
/// </summary>
[Cmdlet(VerbsData.ConvertTo, "HdxChatPrompt", DefaultParameterSetName = ModelSet)]
[OutputType(typeof(string))]
public sealed class ConvertToHdxChatPromptCommand : HdxCmdlet
{
    private const string ModelSet = "Model";
    private const string TemplateSet = "Template";

    private readonly List<object?> _messages = [];

    /// <summary>Messages: hashtables or objects with role and content (and whatever else the template reads).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyCollection]
    public object[] Messages { get; set; } = [];

    /// <summary>A compiled model, a HuggingFace model folder or a tokenizer folder: the template and special tokens come from it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ModelSet)]
    [Parameter(ParameterSetName = TemplateSet)]
    [Alias("Tokenizer")]
    [ValidateNotNull]
    public object Model { get; set; } = null!;

    /// <summary>The Jinja template to use instead of the model's; with it no model is needed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TemplateSet)]
    [ValidateNotNull]
    public string ChatTemplate { get; set; } = null!;

    /// <summary>End with the start of an assistant turn, so that generation writes the answer.</summary>
    [Parameter]
    public SwitchParameter AddGenerationPrompt { get; set; }

    /// <summary>Extra template variables (tools, documents, enable_thinking, date_string, bos_token ...); they override the defaults.</summary>
    [Parameter]
    [ValidateNotNull]
    public IDictionary? Variables { get; set; }

    /// <summary>Which of several named templates of the tokenizer config to use (default, tool_use, rag ...).</summary>
    [Parameter(ParameterSetName = ModelSet)]
    [ValidateNotNullOrEmpty]
    public string? TemplateName { get; set; }

    protected override void ProcessRecord() => _messages.AddRange(Messages);

    protected override void EndProcessing()
    {
        try
        {
            string? folder = MyInvocation.BoundParameters.ContainsKey(nameof(Model)) ? TokenizerArgument.ResolveFolder(this, Model) : null;
            WriteObject(ChatMessages.Render(folder, ChatMessages.Convert(_messages), AddGenerationPrompt,
                MyInvocation.BoundParameters.ContainsKey(nameof(ChatTemplate)) ? ChatTemplate : null, TemplateName, Variables));
        }
        catch (HdxException error)
        {
            ThrowTerminating(error);
        }
    }
}
