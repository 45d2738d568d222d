using System.Globalization;
using HyperDex.Runtime.Devices;

namespace HyperDex;

/// <summary>One LPU card (an Alveo board: management and user PCI functions together), as Get-LpuDevice emits it.</summary>
public sealed class LpuDevice
{
    internal LpuDevice(LpuDeviceInfo info)
    {
        Index = info.Index;
        Bdf = info.Bdf;
        ManagementBdf = info.ManagementBdf;
        Name = info.Name;
        VendorId = Hex(info.VendorId);
        DeviceId = Hex(info.DeviceId);
        SubsystemVendorId = Hex(info.SubsystemVendorId);
        SubsystemDeviceId = Hex(info.SubsystemDeviceId);
        ClassCode = info.ClassCode is int code ? "0x" + code.ToString("x6", CultureInfo.InvariantCulture) : null;
        Shell = info.Shell;
        Driver = info.Driver;
        ManagementDriver = info.ManagementDriver;
        Status = info.Status.ToString();
        StatusReason = info.StatusReason;
        NumaNode = info.NumaNode;
        LinkSpeed = info.LinkSpeed;
        MaxLinkSpeed = info.MaxLinkSpeed;
        LinkWidth = info.LinkWidth;
        MaxLinkWidth = info.MaxLinkWidth;
        BarSizes = [.. info.BarSizes];
        MemoryTotalBytes = info.MemoryTotalBytes;
        MemoryUsedBytes = info.MemoryUsedBytes;
        TemperatureC = info.TemperatureC;
        PowerW = info.PowerW;
        PowerCapW = info.PowerCapW;
        XclbinUuid = info.XclbinUuid;
        XrtVersion = info.XrtVersion;
    }

    /// <summary>The LPU id used for device selection: cards numbered from 0 in PCI address order.</summary>
    public int Index { get; }

    /// <summary>The user function (xocl), which XRT opens; null when the card shows no user function.</summary>
    public string? Bdf { get; }

    /// <summary>The management function (xclmgmt).</summary>
    public string? ManagementBdf { get; }

    public string Name { get; }

    public string? VendorId { get; }

    public string? DeviceId { get; }

    public string? SubsystemVendorId { get; }

    public string? SubsystemDeviceId { get; }

    public string? ClassCode { get; }

    /// <summary>The platform (shell) flashed on the card, e.g. xilinx_u55c_gen3x16_xdma_base_3.</summary>
    public string? Shell { get; }

    /// <summary>The driver bound to the user function (xocl expected).</summary>
    public string? Driver { get; }

    public string? ManagementDriver { get; }

    /// <summary>
    /// Whether the card can run a model now: Ready, NoDriver, XrtMissing, NotProgrammed or Error. A name, not an
    /// enum, so ConvertTo-Json writes it as such for automation.
    /// </summary>
    public string Status { get; }

    /// <summary>Why the status is not Ready, in words.</summary>
    public string? StatusReason { get; }

    public int? NumaNode { get; }

    public string? LinkSpeed { get; }

    public string? MaxLinkSpeed { get; }

    public int? LinkWidth { get; }

    public int? MaxLinkWidth { get; }

    /// <summary>Sizes of BAR0..BAR5 of the user function in bytes (0 = unused).</summary>
    public long[] BarSizes { get; }

    public long? MemoryTotalBytes { get; }

    public long? MemoryUsedBytes { get; }

    public double? TemperatureC { get; }

    public double? PowerW { get; }

    public double? PowerCapW { get; }

    /// <summary>The bitstream (xclbin) loaded on the card; null when none is.</summary>
    public string? XclbinUuid { get; }

    public string? XrtVersion { get; }

    private static string? Hex(int? id) => id is int value ? "0x" + value.ToString("x4", CultureInfo.InvariantCulture) : null;
}
