using System.Management.Automation;
using HyperDex.Runtime.Devices;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.PowerShell.Commands;

/// <summary>
/// Lists the LPU cards of this machine (sysfs PCI scan + XRT), one <see cref="LpuDevice"/> per card.
/// With none, warns that generation will use the host CPU engine and writes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LpuDevice", DefaultParameterSetName = AllSet)]
[OutputType(typeof(LpuDevice))]
public sealed class GetLpuDeviceCommand : HdxCmdlet
{
    private const string AllSet = "All";
    private const string IndexSet = "Index";
    private const string BdfSet = "Bdf";

    private IReadOnlyList<LpuDeviceInfo> _devices = [];

    /// <summary>LPU ids (the Index property) to return.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = IndexSet)]
    [ValidateRange(0, int.MaxValue)]
    public int[] Index { get; set; } = [];

    /// <summary>PCI addresses (user or management function, with or without the domain) to return.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BdfSet, ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyString]
    public string?[] Bdf { get; set; } = [];

    protected override void BeginProcessing()
    {
        var options = LpuDiscoveryOptions.FromEnvironment();
        _devices = LpuDiscovery.Discover(options, Reporter);
        if (_devices.Count == 0)
        {
            WriteWarning($"No LPU card found (no Xilinx/AMD Alveo PCI function under {Path.Combine(options.SysfsRoot, "bus", "pci", "devices")}); generation will use the host CPU engine.");
        }
    }

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case IndexSet:
                foreach (int index in Index)
                {
                    Emit(_devices.FirstOrDefault(d => d.Index == index), $"index {index}", index);
                }

                break;
            case BdfSet:
                foreach (string? bdf in Bdf)
                {
                    if (!PciAddress.TryParse(bdf, out PciAddress address))
                    {
                        WriteError(ErrorRecords.InvalidArgument("InvalidBdf",
                            $"'{bdf}' is not a PCI address (expected dddd:bb:dd.f or bb:dd.f).", bdf));
                        continue;
                    }

                    string canonical = address.ToString();
                    Emit(_devices.FirstOrDefault(d => d.Bdf == canonical || d.ManagementBdf == canonical), canonical, bdf);
                }

                break;
            default:
                foreach (LpuDeviceInfo device in _devices)
                {
                    WriteObject(new LpuDevice(device));
                }

                break;
        }
    }

    private void Emit(LpuDeviceInfo? device, string what, object? target)
    {
        if (device is null)
        {
            WriteError(new HdxException("LpuDeviceNotFound", HdxErrorKind.NotFound, $"No LPU card with {what}.", target,
                "Run Get-LpuDevice without parameters to list the cards."));
            return;
        }

        WriteObject(new LpuDevice(device));
    }
}
