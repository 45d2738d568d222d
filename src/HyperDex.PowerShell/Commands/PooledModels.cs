using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Generation;

namespace HyperDex.PowerShell.Commands;

/// <summary>The session's loaded models (Start-HdxGeneration's pool) that a -Model argument names.</summary>
internal static class PooledModels
{
    /// <summary>Every loaded model, or those loaded from the folder <paramref name="model"/> names (all device counts).</summary>
    public static IReadOnlyList<LoadedModel> Select(PSCmdlet cmdlet, PSObject? model)
    {
        var loaded = ModelPool.Loaded();
        if (model is null)
        {
            return loaded;
        }

        string path = ModelArgument.ResolvePath(cmdlet, model);
        var matches = loaded.Where(m => string.Equals(Path.TrimEndingDirectorySeparator(m.Path), path, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0)
        {
            throw new HdxException("ModelNotLoaded", HdxErrorKind.NotFound, $"{path} is not loaded in this session", path,
                "Start-HdxGeneration loads a model; Get-HdxPrefixCache without -Model lists the loaded ones.");
        }

        return matches;
    }
}
