using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace HyperDex.PowerShell;

/// <summary>
/// The resolver pattern from the PowerShell team's guide to assembly conflicts: when the cmdlet assembly
/// (in the Default context) first needs HyperDex.Runtime, load it into the HyperDex context from dependencies/.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private const string RuntimeAssemblyName = "HyperDex.Runtime";

    private static readonly string DependencyDirectory = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "dependencies");

    private static readonly Lazy<HyperDexLoadContext> Context = new(() => new HyperDexLoadContext(DependencyDirectory));

    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveRuntime;

    public void OnRemove(PSModuleInfo psModuleInfo) => AssemblyLoadContext.Default.Resolving -= ResolveRuntime;

    private static Assembly? ResolveRuntime(AssemblyLoadContext defaultContext, AssemblyName assemblyName)
    {
        // Only the uniquely named runtime is redirected; its own dependencies resolve inside the HyperDex context.
        return assemblyName.Name == RuntimeAssemblyName
            ? Context.Value.LoadFromAssemblyName(assemblyName)
            : null;
    }
}
