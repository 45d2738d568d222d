using System.Globalization;

namespace HyperDex.Runtime.Devices;

/// <summary>Lists the PCI functions of the LPU vendors under <c>&lt;sysfs&gt;/bus/pci/devices</c>.</summary>
public static class PciScanner
{
    /// <summary>
    /// Xilinx (now AMD) Alveo cards. XRT's xocl/xclmgmt id tables (devices.h) list every Alveo and Versal card under
    /// 0x10ee; the other vendors there are OEM re-badges (0x13fe Advantech, 0x1d0f AWS F1), which are not LPUs.
    /// </summary>
    public const int XilinxVendorId = 0x10ee;

    private const int BarCount = 6;

    public static IReadOnlyList<PciFunction> Scan(string sysfsRoot)
    {
        var functions = new List<PciFunction>();
        foreach (string entry in SysfsFiles.ListEntries(Path.Combine(sysfsRoot, "bus", "pci", "devices")))
        {
            if (!PciAddress.TryParse(Path.GetFileName(entry), out PciAddress address) || !System.IO.Directory.Exists(entry))
            {
                continue;
            }

            if (ReadId(entry, "vendor") != XilinxVendorId)
            {
                continue;
            }

            functions.Add(Read(address, entry));
        }

        functions.Sort((a, b) => a.Address.CompareTo(b.Address));
        return functions;
    }

    private static PciFunction Read(PciAddress address, string dir)
    {
        long? numa = SysfsFiles.ReadInteger(Path.Combine(dir, "numa_node"));
        return new PciFunction(
            address,
            dir,
            XilinxVendorId,
            ReadId(dir, "device"),
            ReadId(dir, "subsystem_vendor"),
            ReadId(dir, "subsystem_device"),
            ToInt(SysfsFiles.ReadInteger(Path.Combine(dir, "class"))),
            SysfsFiles.LinkName(Path.Combine(dir, "driver")),
            numa is >= 0 ? (int)numa : null, // -1: the platform does not say
            SysfsFiles.ReadText(Path.Combine(dir, "current_link_speed")) is { Length: > 0 } speed ? speed : null,
            SysfsFiles.ReadText(Path.Combine(dir, "max_link_speed")) is { Length: > 0 } max ? max : null,
            ToInt(SysfsFiles.ReadInteger(Path.Combine(dir, "current_link_width"))),
            ToInt(SysfsFiles.ReadInteger(Path.Combine(dir, "max_link_width"))),
            ReadBarSizes(Path.Combine(dir, "resource")));
    }

    private static int? ReadId(string dir, string name) =>
        SysfsFiles.ReadInteger(Path.Combine(dir, name)) is long id and >= 0 and <= 0xffff ? (int)id : null;

    private static int? ToInt(long? value) => value is >= int.MinValue and <= int.MaxValue ? (int)value : null;

    /// <summary>
    /// <c>resource</c> has one "start end flags" line (hex) per region; the first six are BAR0..BAR5, an unused BAR
    /// reads all zeros. Malformed lines count as unused.
    /// </summary>
    internal static IReadOnlyList<long> ReadBarSizes(string path)
    {
        var sizes = new long[BarCount];
        string? text = SysfsFiles.ReadText(path);
        if (text is null)
        {
            return sizes;
        }

        string[] lines = text.Split('\n');
        for (int bar = 0; bar < BarCount && bar < lines.Length; bar++)
        {
            string[] fields = lines[bar].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2
                && TryHex(fields[0], out ulong start) && TryHex(fields[1], out ulong end)
                && end > start)
            {
                ulong size = end - start + 1;
                sizes[bar] = size > long.MaxValue ? 0 : (long)size;
            }
        }

        return sizes;
    }

    private static bool TryHex(string text, out ulong value)
    {
        ReadOnlySpan<char> span = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text.AsSpan();
        return ulong.TryParse(span, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
