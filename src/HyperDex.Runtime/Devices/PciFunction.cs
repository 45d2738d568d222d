namespace HyperDex.Runtime.Devices;

/// <summary>One PCI function as sysfs describes it; every attribute that could not be read is null.</summary>
public sealed record PciFunction(
    PciAddress Address,
    string Directory,
    int VendorId,
    int? DeviceId,
    int? SubsystemVendorId,
    int? SubsystemDeviceId,
    int? ClassCode,
    string? Driver,
    int? NumaNode,
    string? LinkSpeed,
    string? MaxLinkSpeed,
    int? LinkWidth,
    int? MaxLinkWidth,
    IReadOnlyList<long> BarSizes);
