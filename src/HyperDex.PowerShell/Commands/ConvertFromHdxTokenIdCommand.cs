using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Decodes token ids to text exactly as the model's HuggingFace tokenizer does: one text per -Id array or per piped
/// object with Ids/TokenIds (ConvertTo-HdxTokenId, Start-HdxGeneration results); bare ids or token records piped one
/// by one (`1, 2 | ...`, `-Stream` output) make one sequence, decoded together at the end.
/// </summary>
[Cmdlet(VerbsData.ConvertFrom, "HdxTokenId", DefaultParameterSetName = IdsSet)]
[OutputType(typeof(string))]
public sealed class ConvertFromHdxTokenIdCommand : HdxCmdlet
{
    private const string IdsSet = "Ids";
    private const string SequenceSet = "Sequence";

    private readonly List<int> _sequence = [];
    private IHdxTokenizer? _tokenizer;

    /// <summary>A tokenizer folder, a model folder, a compiled model folder, or a compiled model object.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(CompiledModelCompleter))]
    [ValidateNotNull]
    public object Tokenizer { get; set; } = null!;

    /// <summary>The ids of one text; binds from the Ids of ConvertTo-HdxTokenId's output and the TokenIds of a GenerationResult.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = IdsSet)]
    [Alias("Ids", "TokenIds")]
    [AllowEmptyCollection]
    public int[] Id { get; set; } = [];

    /// <summary>One id of a sequence piped id by id (or a TokenRecord's TokenId); the sequence is decoded as one text.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = SequenceSet)]
    [Alias("TokenId")]
    public int InputId { get; set; }

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
        if (ParameterSetName == SequenceSet)
        {
            _sequence.Add(InputId);
            return;
        }

        Decode(Id);
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == SequenceSet)
        {
            Decode(_sequence.ToArray());
        }
    }

    private void Decode(int[] ids)
    {
        string text;
        try
        {
            text = _tokenizer!.Decode(ids, SkipSpecialTokens);
        }
        catch (HdxException error)
        {
            WriteError(error);
            return;
        }

        WriteObject(text);
    }
}
