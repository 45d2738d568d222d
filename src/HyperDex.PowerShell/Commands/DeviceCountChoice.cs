using System.Management.Automation;
using HyperDex.Runtime.Compiler;

namespace HyperDex.PowerShell.Commands;

/// <summary>Which compiled device-count variant a generation runs when -NumDevice is not given.</summary>
internal static class DeviceCountChoice
{
    /// <summary>
    /// -NumDevice when given (or bound from a piped object); else the NumDevice of a -Model object (CompiledModel,
    /// CompiledModelInfo); else the folder's only compiled count; else 1.
    /// </summary>
    public static int Resolve(int? given, PSObject model, string path)
    {
        if (given is int count)
        {
            return count;
        }

        if (model.BaseObject is not string && model.Properties["NumDevice"]?.Value is int fromObject && fromObject > 0)
        {
            return fromObject;
        }

        var variants = CompilePlan.ReadManifest(path)?.Variants;
        return variants is { Count: 1 } ? variants[0].NumDevice : 1;
    }
}
