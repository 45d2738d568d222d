using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Devices;

/// <summary>
/// XRT's C device API from libxrt_coreutil, bound through NativeLibrary and unmanaged function pointers
/// (Xilinx/XRT src/runtime_src/core/include/xrt/xrt_device.h):
/// <c>xrtDeviceHandle xrtDeviceOpenByBDF(const char* bdf)</c> (nullptr and errno on failure),
/// <c>int xrtDeviceClose(xrtDeviceHandle)</c> (0 on success) and
/// <c>int xrtDeviceGetXclbinUUID(xrtDeviceHandle, xuid_t out)</c> (xuid_t = unsigned char[16]; 0 on success).
/// A library stays loaded for the life of the process: XRT starts threads and registers atexit handlers, so
/// unloading it is not safe.
/// </summary>
public sealed unsafe class XrtLibrary
{
    public const string OpenByBdfSymbol = "xrtDeviceOpenByBDF";
    public const string CloseSymbol = "xrtDeviceClose";
    public const string GetXclbinUuidSymbol = "xrtDeviceGetXclbinUUID";

    private static readonly ConcurrentDictionary<string, XrtLibrary> Loaded = new(StringComparer.Ordinal);

    private readonly delegate* unmanaged<byte*, nint> _openByBdf;
    private readonly delegate* unmanaged<nint, int> _close;
    private readonly delegate* unmanaged<nint, byte*, int> _getXclbinUuid;

    private XrtLibrary(string path, nint handle)
    {
        Path = path;
        _openByBdf = (delegate* unmanaged<byte*, nint>)Export(handle, path, OpenByBdfSymbol);
        _close = (delegate* unmanaged<nint, int>)Export(handle, path, CloseSymbol);
        _getXclbinUuid = (delegate* unmanaged<nint, byte*, int>)Export(handle, path, GetXclbinUuidSymbol);
    }

    public string Path { get; }

    /// <summary>Loads (once per path) and binds the library; throws <see cref="HdxException"/> when it cannot.</summary>
    public static XrtLibrary Load(string path) => Loaded.GetOrAdd(path, static p =>
    {
        if (!File.Exists(p))
        {
            throw new HdxException("XrtLibraryNotFound", HdxErrorKind.NotFound, $"XRT library '{p}' does not exist.", p,
                "Install XRT (the xrt package) or point XILINX_XRT at its installation.");
        }

        if (!NativeLibrary.TryLoad(p, out nint handle))
        {
            throw new HdxException("XrtLibraryLoadFailed", HdxErrorKind.NotSupported,
                $"XRT library '{p}' could not be loaded (wrong architecture or missing dependencies).", p,
                "Check it with 'ldd'; reinstall XRT matching this system.");
        }

        try
        {
            return new XrtLibrary(p, handle);
        }
        catch (HdxException)
        {
            NativeLibrary.Free(handle);
            throw;
        }
    });

    /// <summary>Opens the user function <paramref name="bdf"/>, asks for the loaded xclbin, closes it again.</summary>
    public XrtProbe Probe(string bdf)
    {
        ArgumentNullException.ThrowIfNull(bdf);
        byte[] name = Encoding.UTF8.GetBytes(bdf + "\0");
        nint device;
        int openError;
        fixed (byte* text = name)
        {
            // XRT reports open failures through errno (xrt_device.cpp: errno = ex.get_code()).
            Marshal.SetLastSystemError(0);
            device = _openByBdf(text);
            openError = Marshal.GetLastSystemError();
        }

        if (device == 0)
        {
            string why = openError != 0 ? $"{Marshal.GetPInvokeErrorMessage(openError)} (errno {openError})" : "no error code";
            return new XrtProbe(LpuStatus.Error, $"{OpenByBdfSymbol}(\"{bdf}\") failed: {why}", null);
        }

        byte* uuid = stackalloc byte[16];
        new Span<byte>(uuid, 16).Clear();
        int uuidResult;
        int closeResult;
        try
        {
            uuidResult = _getXclbinUuid(device, uuid);
        }
        finally
        {
            closeResult = _close(device);
        }

        if (uuidResult != 0)
        {
            return new XrtProbe(LpuStatus.Error, $"{GetXclbinUuidSymbol} returned {uuidResult}", null);
        }

        if (closeResult != 0)
        {
            return new XrtProbe(LpuStatus.Error, $"{CloseSymbol} returned {closeResult}", null);
        }

        var bytes = new ReadOnlySpan<byte>(uuid, 16);
        return bytes.IndexOfAnyExcept((byte)0) < 0
            ? new XrtProbe(LpuStatus.NotProgrammed, "no xclbin is loaded on the card", null)
            : new XrtProbe(LpuStatus.Ready, null, FormatUuid(bytes));
    }

    /// <summary>uuid_t bytes in order, as XRT prints them (8-4-4-4-12, lower case).</summary>
    internal static string FormatUuid(ReadOnlySpan<byte> bytes)
    {
        string hex = Convert.ToHexString(bytes).ToLowerInvariant();
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    private static nint Export(nint handle, string path, string symbol) =>
        NativeLibrary.TryGetExport(handle, symbol, out nint address)
            ? address
            : throw new HdxException("XrtSymbolMissing", HdxErrorKind.NotSupported,
                $"XRT library '{path}' does not export {symbol}.", path,
                "Install an XRT release with the C device API of xrt_device.h (XRT 2.8 or later).");
}
