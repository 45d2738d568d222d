using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Devices;

/// <summary>Where to look: the sysfs root (<c>HDX_SYSFS_ROOT</c>, default /sys) and the XRT root (<c>XILINX_XRT</c>).</summary>
public sealed record LpuDiscoveryOptions(string SysfsRoot, string XrtRoot)
{
    public const string SysfsRootVariable = "HDX_SYSFS_ROOT";

    public static LpuDiscoveryOptions FromEnvironment() => new(
        NonEmpty(Environment.GetEnvironmentVariable(SysfsRootVariable)) ?? "/sys",
        NonEmpty(Environment.GetEnvironmentVariable(XrtInstallation.RootVariable)) ?? XrtInstallation.DefaultRoot);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

/// <summary>
/// Finds LPU cards: scans Xilinx PCI functions in sysfs, groups the management and user functions of each card
/// (same domain:bus:device), numbers the cards by address (the LPU id used for device selection), reads the
/// driver's telemetry and asks XRT whether each user function opens. Never throws for what it finds on a card.
/// </summary>
public static class LpuDiscovery
{
    public const string UserDriver = "xocl";
    public const string ManagementDriver = "xclmgmt";

    public static IReadOnlyList<LpuDeviceInfo> Discover(LpuDiscoveryOptions options, IHdxReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reporter);

        var cards = PciScanner.Scan(options.SysfsRoot)
            .GroupBy(f => f.Address.SlotKey, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        reporter.Verbose($"{cards.Count} Xilinx card(s) under {Path.Combine(options.SysfsRoot, "bus", "pci", "devices")}.");
        if (cards.Count == 0)
        {
            return [];
        }

        XrtInstallation? xrt = XrtInstallation.Locate(options.XrtRoot);
        reporter.Verbose(xrt is null
            ? $"No XRT at {options.XrtRoot}."
            : $"XRT {xrt.Version ?? "(unknown version)"} at {xrt.Root}, C API library: {xrt.CoreUtilPath ?? "none"}.");

        // Loaded only when a card has its user driver bound: loading XRT starts its threads and logging.
        var library = new Lazy<(XrtLibrary? Library, LpuStatus? Status, string? Reason)>(() => LoadLibrary(xrt, options.XrtRoot));

        var devices = new List<LpuDeviceInfo>(cards.Count);
        foreach (var card in cards)
        {
            PciFunction? management = card.FirstOrDefault(f => RoleOf(f) == PciFunctionRole.Management);
            PciFunction? user = card.FirstOrDefault(f => RoleOf(f) == PciFunctionRole.User);
            XoclTelemetry telemetry = XoclTelemetry.Read(user, management);
            (LpuStatus status, string? reason, string? uuid) = Judge(user, management, library);
            reporter.Verbose($"{card.Key}: {status}{(reason is null ? string.Empty : " (" + reason + ")")}.");
            PciFunction primary = user ?? management!;
            devices.Add(new LpuDeviceInfo(
                devices.Count,
                user?.Address.ToString(),
                management?.Address.ToString(),
                NameOf(user, management),
                primary.VendorId,
                primary.DeviceId,
                primary.SubsystemVendorId,
                primary.SubsystemDeviceId,
                primary.ClassCode,
                telemetry.Shell,
                user?.Driver,
                management?.Driver,
                status,
                reason,
                primary.NumaNode ?? management?.NumaNode,
                primary.LinkSpeed ?? management?.LinkSpeed,
                primary.MaxLinkSpeed ?? management?.MaxLinkSpeed,
                primary.LinkWidth ?? management?.LinkWidth,
                primary.MaxLinkWidth ?? management?.MaxLinkWidth,
                primary.BarSizes,
                telemetry.MemoryTotalBytes,
                telemetry.MemoryUsedBytes,
                telemetry.TemperatureC,
                telemetry.PowerW,
                telemetry.PowerCapW,
                uuid ?? telemetry.XclbinUuid,
                xrt?.Version));
        }

        return devices;
    }

    /// <summary>The board of either function's id (one may be unreadable), else "Xilinx device 0x…" of the user id.</summary>
    private static string NameOf(PciFunction? user, PciFunction? management) =>
        AlveoBoards.Lookup(user?.DeviceId)?.Name
        ?? AlveoBoards.Lookup(management?.DeviceId)?.Name
        ?? AlveoBoards.NameOf(user?.DeviceId ?? management?.DeviceId);

    /// <summary>The driver decides when it is bound; otherwise the id table, otherwise function 0 is management.</summary>
    internal static PciFunctionRole RoleOf(PciFunction function) => function.Driver switch
    {
        ManagementDriver => PciFunctionRole.Management,
        UserDriver => PciFunctionRole.User,
        _ => AlveoBoards.Lookup(function.DeviceId)?.Role
            ?? (function.Address.Function == 0 ? PciFunctionRole.Management : PciFunctionRole.User),
    };

    private static (LpuStatus Status, string? Reason, string? XclbinUuid) Judge(PciFunction? user, PciFunction? management,
        Lazy<(XrtLibrary? Library, LpuStatus? Status, string? Reason)> xrt)
    {
        if (user is null)
        {
            return (LpuStatus.NotProgrammed,
                $"only the management function {management!.Address} is present: the card runs no shell (golden image?); flash one with 'xbmgmt program --base'",
                null);
        }

        if (user.Driver is null)
        {
            return (LpuStatus.NoDriver, $"no driver is bound to {user.Address}: install XRT and load the xocl module", null);
        }

        if (user.Driver != UserDriver)
        {
            return (LpuStatus.Error, $"{user.Address} is bound to '{user.Driver}', not xocl", null);
        }

        (XrtLibrary? library, LpuStatus? status, string? reason) = xrt.Value;
        if (library is null)
        {
            return (status!.Value, reason, null);
        }

        XrtProbe probe = library.Probe(user.Address.ToString());
        return (probe.Status, probe.Reason, probe.XclbinUuid);
    }

    private static (XrtLibrary? Library, LpuStatus? Status, string? Reason) LoadLibrary(XrtInstallation? xrt, string root)
    {
        if (xrt is null)
        {
            return (null, LpuStatus.XrtMissing, $"XRT is not installed at {root} (set {XrtInstallation.RootVariable} or install XRT)");
        }

        if (xrt.CoreUtilPath is null)
        {
            return (null, LpuStatus.XrtMissing, $"XRT at {root} has no lib/libxrt_coreutil.so");
        }

        try
        {
            return (XrtLibrary.Load(xrt.CoreUtilPath), null, null);
        }
        catch (HdxException error) when (error.ErrorId == "XrtLibraryNotFound")
        {
            return (null, LpuStatus.XrtMissing, error.Message);
        }
        catch (HdxException error)
        {
            return (null, LpuStatus.Error, error.Message);
        }
    }
}
