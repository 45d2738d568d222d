using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Hub;
using HyperDex.Runtime.Models;

namespace HyperDex.PowerShell.Commands;

/// <summary>Completes -Model, -Tokenizer and -Path with the folders of the compiled models under $HDX_HOME; never throws.</summary>
public sealed class CompiledModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var pattern = WildcardPattern.Get("*" + word + "*", WildcardOptions.IgnoreCase);
        foreach (var entry in Completion.Safely(() => CompiledModelCatalog.List(HdxPaths.ModelsRoot)))
        {
            if (pattern.IsMatch(entry.Path) || pattern.IsMatch(entry.ModelId))
            {
                string text = entry.Path.Contains(' ', StringComparison.Ordinal) ? $"'{entry.Path}'" : entry.Path;
                yield return new CompletionResult(text, $"{entry.ModelId} ({entry.Dtype.ToUserName()})", CompletionResultType.ParameterValue, entry.Path);
            }
        }
    }
}

/// <summary>Completes -ModelId with the compiled model ids, or with -Downloaded the ids in the Hugging Face cache.</summary>
public sealed class ModelIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        bool downloaded = fakeBoundParameters?["Downloaded"] is not null and not false;
        var ids = Completion.Safely(() => downloaded
            ? HubClient.CachedModelIds(HubSettings.FromEnvironment())
            : CompiledModelCatalog.List(HdxPaths.ModelsRoot).Select(e => e.ModelId).Distinct(StringComparer.OrdinalIgnoreCase).ToList());
        var pattern = WildcardPattern.Get((wordToComplete ?? string.Empty).Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        foreach (string id in ids.Where(pattern.IsMatch))
        {
            yield return new CompletionResult(id, id, CompletionResultType.ParameterValue, id);
        }
    }
}

/// <summary>Completes -NumDevice with the device counts the -Model already given is compiled for.</summary>
public sealed class NumDeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        object? model = fakeBoundParameters?["Model"];
        string? path = model is PSObject wrapped ? wrapped.Properties["Path"]?.Value as string ?? wrapped.BaseObject as string : model as string;
        if (path is null)
        {
            yield break;
        }

        var manifests = Completion.Safely(() => CompilePlan.ReadManifest(path) is { } m ? new[] { m } : Array.Empty<CompiledManifest>());
        foreach (var variant in manifests.Count == 0 ? [] : manifests[0].Variants)
        {
            string text = variant.NumDevice.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (text.StartsWith(wordToComplete ?? string.Empty, StringComparison.Ordinal))
            {
                yield return new CompletionResult(text, text, CompletionResultType.ParameterValue, $"compiled for {text} device(s)");
            }
        }
    }
}

internal static class Completion
{
    /// <summary>Completion must never fail while the user types: an unreadable folder or variable yields nothing.</summary>
    public static IReadOnlyList<T> Safely<T>(Func<IReadOnlyList<T>> list)
    {
        try
        {
            return list();
        }
        catch (Exception e) when (e is Runtime.Diagnostics.HdxException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return [];
        }
    }
}
