using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.PowerShell.Commands;

/// <summary>Decodes token ids to text exactly as the model's HuggingFace tokenizer does.</summary>
[Cmdlet(VerbsData.ConvertFrom, "HdxTokenId")]
[OutputType(typeof(string))]
public sealed class ConvertFromHdxTokenIdCommand : HdxCmdlet
{
    private IHdxTokenizer? _tokenizer;

    /// <summary>A tokenizer folder, a model folder, a compiled model folder, or a compiled model object.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(CompiledModelCompleter))]
    [ValidateNotNull]
    public object Tokenizer { get; set; } = null!;

    /// <summary>The ids of one text; binds from the Ids property of ConvertTo-HdxTokenId's output.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Ids")]
    [AllowEmptyCollection]
    public int[] Id { get; set; } = [];

    /// <summary>Leave special tokens such as BOS/EOS out of the text (HF skip_special_tokens=True).</summary>
    [Parameter]
    public SwitchParameter SkipSpecialTokens { get; set; }

    protected override void BeginProcessing()
    {
        try
        {
            _tokenizer = TokenizerArgument.Load(this, Tokenizer);
        }
        catch (HdxException error)
        {
            ThrowTerminating(error);
        }
    }

    protected override void ProcessRecord()
    {
        string text;
        try
        {
            text = _tokenizer!.Decode(Id, SkipSpecialTokens);
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        WriteObject(text);
    }
}
