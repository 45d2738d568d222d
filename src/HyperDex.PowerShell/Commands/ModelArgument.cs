using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>What -Model accepts: a compiled model folder (string, DirectoryInfo, PathInfo) or an object with a Path such as HyperDex.CompiledModel.</summary>
internal static class ModelArgument
{
    /// <summary>The full file-system path of the model folder, without a trailing separator.</summary>
    public static string ResolvePath(PSCmdlet cmdlet, PSObject model)
    {
        object value = model.BaseObject;
        string? path = value switch
        {
            string text => text,
            FileSystemInfo info => info.FullName,
            PathInfo info => info.ProviderPath,
            _ => model.Properties["Path"]?.Value?.ToString(),
        };
        if (string.IsNullOrEmpty(path))
        {
            throw new HdxException("InvalidModelArgument", HdxErrorKind.InvalidArgument,
                $"-Model takes a compiled model folder or a CompiledModel object, not {value.GetType().Name}", value);
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(PathArgument.Resolve(cmdlet, path)));
    }
}
