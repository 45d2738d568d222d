using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;

namespace HyperDex.PowerShell.Commands;

/// <summary>Completes -ModelId from the models already in the Hugging Face cache: offline, fast, never throwing.</summary>
public sealed class CachedModelIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<string> ids;
        try
        {
            ids = HubClient.CachedModelIds(HubSettings.FromEnvironment());
        }
        catch (HdxException)
        {
            yield break; // for example a malformed HF_ENDPOINT: no completions rather than an error while typing
        }

        var pattern = WildcardPattern.Get((wordToComplete ?? string.Empty).Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        foreach (string id in ids.Where(pattern.IsMatch))
        {
            yield return new CompletionResult(id, id, CompletionResultType.ParameterValue, id);
        }
    }
}
