using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Where compiled models live by default: $HDX_HOME/hub/&lt;org&gt;/&lt;name&gt;/&lt;dtype&gt;, HDX_HOME defaulting to
/// ~/.cache/hyperdex. One folder per dtype, so an fp16 and an fp32 compile of one model live side by side.
/// </summary>
public static class HdxPaths
{
    public const string HomeVariable = "HDX_HOME";

    public static string Home
    {
        get
        {
            string? home = Environment.GetEnvironmentVariable(HomeVariable);
            return !string.IsNullOrWhiteSpace(home)
                ? Path.GetFullPath(home)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "hyperdex");
        }
    }

    /// <summary>Where compiled models are looked for by default (Get-HdxModel, completers).</summary>
    public static string ModelsRoot => Path.Combine(Home, "hub");

    /// <summary>The default compiled-model folder of a model id ("org/name") for one dtype.</summary>
    public static string DefaultModelFolder(string modelId, HdxDtype dtype) =>
        Path.Combine(new[] { ModelsRoot }.Concat(modelId.Split('/', StringSplitOptions.RemoveEmptyEntries)).Append(dtype.ToUserName()).ToArray());
}
