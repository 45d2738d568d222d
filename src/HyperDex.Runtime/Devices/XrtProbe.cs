namespace HyperDex.Runtime.Devices;

/// <summary>What opening one user function through XRT's C API found.</summary>
public sealed record XrtProbe(LpuStatus Status, string? Reason, string? XclbinUuid);
