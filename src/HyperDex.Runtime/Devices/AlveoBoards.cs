namespace HyperDex.Runtime.Devices;

/// <summary>Which side of an Alveo card a PCI function is.</summary>
public enum PciFunctionRole
{
    /// <summary>The management function (xclmgmt): flashing, clocks, sensors; root only.</summary>
    Management,

    /// <summary>The user function (xocl): what applications open through XRT.</summary>
    User,
}

/// <summary>
/// Board names of known Alveo PCI device ids. Sources: XRT's driver id tables
/// (Xilinx/XRT src/runtime_src/core/pcie/driver/linux/xocl/devices.h: XOCL_MGMT_PCI_IDS, XOCL_USER_XDMA_PCI_IDS and
/// XOCL_DSA_DYNAMIC_MAP with the "xilinx_u55c"/"xilinx_v70" names) and pciutils' pci.ids (10ee: 5000 "Alveo U200",
/// 5004 "Alveo U250", 500c "Alveo U280", 5020 "Alveo U50", 505c "Alveo U55C", d0xx "Golden Image").
/// The management function is the even id and the user function the next odd one.
/// </summary>
public static class AlveoBoards
{
    private static readonly Dictionary<int, (string Name, PciFunctionRole Role)> Known = Build();

    public static (string Name, PciFunctionRole Role)? Lookup(int? deviceId) =>
        deviceId is int id && Known.TryGetValue(id, out var board) ? board : null;

    /// <summary>The display name: a known board, or "Xilinx device 0x…" so an unknown card is still listed.</summary>
    public static string NameOf(int? deviceId) =>
        Lookup(deviceId)?.Name
        ?? (deviceId is int id ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Xilinx device 0x{id:x4}") : "Xilinx device");

    private static Dictionary<int, (string, PciFunctionRole)> Build()
    {
        var table = new Dictionary<int, (string, PciFunctionRole)>();
        void Pair(int management, string name)
        {
            table[management] = (name, PciFunctionRole.Management);
            table[management + 1] = (name, PciFunctionRole.User);
        }

        Pair(0x5000, "Alveo U200");
        Pair(0x5004, "Alveo U250");
        Pair(0x5008, "Alveo U280 ES1");
        Pair(0x500c, "Alveo U280");
        Pair(0x5020, "Alveo U50");
        Pair(0x5048, "Versal VCK5000");
        Pair(0x5050, "Alveo U25");
        Pair(0x5058, "Alveo U55N");
        Pair(0x505c, "Alveo U55C");
        Pair(0x5060, "Alveo U50LV");
        Pair(0x506c, "Alveo U50C");
        Pair(0x5094, "Alveo V70");
        Pair(0x513c, "Alveo U30");

        // Golden (factory recovery) images expose only a management function and no shell.
        table[0xd000] = ("Alveo U200 (golden image)", PciFunctionRole.Management);
        table[0xd004] = ("Alveo U250 (golden image)", PciFunctionRole.Management);
        table[0xd00c] = ("Alveo U280 (golden image)", PciFunctionRole.Management);
        table[0xd020] = ("Alveo U50 (golden image)", PciFunctionRole.Management);
        return table;
    }
}
