using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.PowerShell.Commands;

/// <summary>Encodes text to token ids exactly as the model's HuggingFace tokenizer does.</summary>
[Cmdlet(VerbsData.ConvertTo, "HdxTokenId")]
[OutputType(typeof(Tokenization))]
public sealed class ConvertToHdxTokenIdCommand : HdxCmdlet
{
    private IHdxTokenizer? _tokenizer;

    /// <summary>A tokenizer folder, a model folder, a compiled model folder, or a compiled model object.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(CompiledModelCompleter))]
    [ValidateNotNull]
    public object Tokenizer { get; set; } = null!;

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[] Text { get; set; } = [];

    /// <summary>Leave out the BOS/EOS tokens the tokenizer adds (HF add_special_tokens=False).</summary>
    [Parameter]
    public SwitchParameter NoSpecialTokens { get; set; }

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
        foreach (string text in Text)
        {
            WriteObject(new Tokenization(text, _tokenizer!.Encode(text, addSpecialTokens: !NoSpecialTokens)));
        }
    }
}
