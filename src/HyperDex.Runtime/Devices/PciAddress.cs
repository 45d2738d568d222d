using System.Globalization;

namespace HyperDex.Runtime.Devices;

/// <summary>A PCI function address (domain:bus:device.function), as sysfs names it: <c>0000:65:00.1</c>.</summary>
public readonly record struct PciAddress(int Domain, int Bus, int Device, int Function) : IComparable<PciAddress>
{
    /// <summary>Parses <c>dddd:bb:dd.f</c> or the short <c>bb:dd.f</c> (domain 0) that lspci prints.</summary>
    public static bool TryParse(string? text, out PciAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string[] parts = text.Trim().Split(':');
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }

        string domain = parts.Length == 3 ? parts[0] : "0";
        string bus = parts[^2];
        string[] slot = parts[^1].Split('.');
        if (slot.Length != 2
            || !TryHex(domain, 4, out int d) || !TryHex(bus, 2, out int b)
            || !TryHex(slot[0], 2, out int dev) || dev > 0x1f
            || !TryHex(slot[1], 1, out int fn) || fn > 7)
        {
            return false;
        }

        address = new PciAddress(d, b, dev, fn);
        return true;
    }

    /// <summary>The functions of one physical card share this (the management and user functions differ only in function).</summary>
    public string SlotKey => string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x}");

    public int CompareTo(PciAddress other) =>
        (Domain, Bus, Device, Function).CompareTo((other.Domain, other.Bus, other.Device, other.Function));

    public static bool operator <(PciAddress left, PciAddress right) => left.CompareTo(right) < 0;

    public static bool operator <=(PciAddress left, PciAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >(PciAddress left, PciAddress right) => left.CompareTo(right) > 0;

    public static bool operator >=(PciAddress left, PciAddress right) => left.CompareTo(right) >= 0;

    private static bool TryHex(string text, int maxDigits, out int value)
    {
        value = 0;
        return text.Length > 0 && text.Length <= maxDigits
            && int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
