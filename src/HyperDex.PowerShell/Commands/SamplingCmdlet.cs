using System.Management.Automation;
using HyperDex.Runtime.Generation;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Base of the cmdlets that generate (Start-HdxGeneration, Enter-HdxChat): the sampling parameters they share, declared
/// once so the two cannot drift. A parameter the user did not give stays null in <see cref="SamplingOptions"/>, so the
/// model's generation_config.json, else HF's default, fills it.
/// </summary>
public abstract class SamplingCmdlet : HdxCmdlet
{
    [Parameter]
    public SwitchParameter DoSample { get; set; }

    [Parameter]
    public double Temperature { get; set; }

    [Parameter]
    public int TopK { get; set; }

    [Parameter]
    public double TopP { get; set; }

    [Parameter]
    public double RepetitionPenalty { get; set; }

    [Parameter]
    public int Seed { get; set; }

    [Parameter]
    public int MaxNewTokens { get; set; }

    /// <summary>The sampling parameters the user gave; the others null.</summary>
    protected SamplingOptions BoundSampling()
    {
        var bound = MyInvocation.BoundParameters;
        return new SamplingOptions
        {
            DoSample = bound.ContainsKey(nameof(DoSample)) ? DoSample.IsPresent : null,
            Temperature = bound.ContainsKey(nameof(Temperature)) ? Temperature : null,
            TopK = bound.ContainsKey(nameof(TopK)) ? TopK : null,
            TopP = bound.ContainsKey(nameof(TopP)) ? TopP : null,
            RepetitionPenalty = bound.ContainsKey(nameof(RepetitionPenalty)) ? RepetitionPenalty : null,
            Seed = bound.ContainsKey(nameof(Seed)) ? Seed : null,
            MaxNewTokens = bound.ContainsKey(nameof(MaxNewTokens)) ? MaxNewTokens : null,
        };
    }
}
