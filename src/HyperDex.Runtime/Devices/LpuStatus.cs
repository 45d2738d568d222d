namespace HyperDex.Runtime.Devices;

/// <summary>Whether a card can run a compiled model now, and if not, the first thing to fix.</summary>
public enum LpuStatus
{
    /// <summary>XRT opened the user function and a bitstream (xclbin) is loaded.</summary>
    Ready,

    /// <summary>No kernel driver is bound to the user function (xocl not loaded or the card not claimed).</summary>
    NoDriver,

    /// <summary>The driver is bound but no XRT installation (or its libxrt_coreutil) was found.</summary>
    XrtMissing,

    /// <summary>The card opens but carries no xclbin, or has no shell / user function at all (golden image).</summary>
    NotProgrammed,

    /// <summary>Anything else; the reason says what failed.</summary>
    Error,
}
