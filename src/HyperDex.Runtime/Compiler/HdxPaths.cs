namespace HyperDex.Runtime.Compiler;

/// <summary>Where compiled models live by default: $HDX_HOME/hub/&lt;org&gt;/&lt;name&gt;, HDX_HOME defaulting to ~/.cache/hyperdex.</summary>
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

    /// <summary>The default compiled-model folder of a model id ("org/name").</summary>
    public static string DefaultModelFolder(string modelId) =>
        Path.Combine(new[] { Home, "hub" }.Concat(modelId.Split('/', StringSplitOptions.RemoveEmptyEntries)).ToArray());
}
