using System.Reflection;
using System.Runtime.Loader;

namespace HyperDex.PowerShell;

/// <summary>
/// Holds HyperDex.Runtime and its dependencies (Microsoft.ML.Tokenizers, Google.Protobuf, ...) so they never
/// clash with other versions loaded by other modules in the same session.
/// </summary>
internal sealed class HyperDexLoadContext : AssemblyLoadContext
{
    private readonly string _dependencyDirectory;

    public HyperDexLoadContext(string dependencyDirectory)
        : base("HyperDex", isCollectible: false)
    {
        _dependencyDirectory = dependencyDirectory;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Serve only what ships in dependencies/; everything else (BCL, PowerShell) comes from Default.
        string path = Path.Combine(_dependencyDirectory, assemblyName.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string path = Path.Combine(_dependencyDirectory, unmanagedDllName);
        return File.Exists(path) ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
