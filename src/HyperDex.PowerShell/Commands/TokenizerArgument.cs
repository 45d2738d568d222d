using System.Management.Automation;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Tokenization;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// What -Tokenizer accepts: a folder path (tokenizer files, a HuggingFace model or a compiled model), a DirectoryInfo,
/// or any object with a Path property such as HyperDex.CompiledModel (bound by name, not by type).
/// </summary>
internal static class TokenizerArgument
{
    public static IHdxTokenizer Load(PSCmdlet cmdlet, object value)
    {
        string path = ResolvePath(cmdlet, value);
        return HdxTokenizerLoader.Load(path);
    }

    /// <summary>The folder a -Tokenizer/-Model value names (not loaded).</summary>
    public static string ResolveFolder(PSCmdlet cmdlet, object value) => ResolvePath(cmdlet, value);

    private static string ResolvePath(PSCmdlet cmdlet, object value)
    {
        object raw = value is PSObject wrapped ? wrapped.BaseObject : value;
        string? path = raw switch
        {
            string text => text,
            FileSystemInfo info => info.FullName,
            _ => PSObject.AsPSObject(value).Properties["Path"]?.Value?.ToString(),
        };

        if (string.IsNullOrWhiteSpace(path))
        {
            throw new HdxException("TokenizerArgumentInvalid", HdxErrorKind.InvalidArgument,
                $"-Tokenizer must be a folder path or an object with a Path property (such as a compiled model), not '{raw}'.",
                raw, "Pass the folder of a model, of its tokenizer files, or a compiled model.");
        }

        return PathArgument.Resolve(cmdlet, path);
    }
}
