using System.Runtime.InteropServices;

namespace HyperDex.Runtime.Engine.Kernels;

/// <summary>
/// The optional native kernel library (src/native/hdxkernels, built when a C compiler is present): the bf16 prefill
/// GEMM with AVX512-BF16 <c>vdpbf16ps</c>, which .NET does not expose, and the Q8 prefill GEMM with AVX512-VNNI
/// <c>vpdpwssd</c>, which .NET exposes only in its VEX form (AVX-VNNI, absent on Zen 4). Loaded once, by path, from
/// <c>runtimes/linux-x64/native/</c> beside this assembly — explicit <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/>
/// and function pointers, so it resolves the same in the module's own load context and in a plain test host. A kernel
/// is used only when the library loads, has our ABI version, reports that kernel's CPU flags itself, and
/// <see cref="DisableVariable"/> is not <c>0</c>; otherwise the managed kernels run and <see cref="Status"/> says why.
/// </summary>
internal static unsafe class NativeKernels
{
    /// <summary>Set to <c>0</c> (or <c>false</c>/<c>off</c>) to run the managed kernels even where the native ones work.</summary>
    public const string DisableVariable = "HDX_NATIVE_KERNELS";

    public const string LibraryName = "libhdxkernels.so";

    /// <summary>Must equal hdx_abi_version() of the library: a library of other signatures is never called.</summary>
    private const int AbiVersion = 2;

    /// <summary>hdx_supports() bits.</summary>
    private const int SupportsBf16 = 1, SupportsQ8 = 2;

    private static readonly Library? s_library = Load(out s_status);
    private static readonly string s_status;

    /// <summary>Whether the bf16 prefill GEMM runs natively (tests flip <see cref="Disabled"/> to compare both paths).</summary>
    public static bool Bf16Gemm => s_library is not null && (s_library.Supported & SupportsBf16) != 0 && !Disabled;

    /// <summary>Whether the Q8 prefill GEMM runs natively (tests flip <see cref="Disabled"/> to compare both paths).</summary>
    public static bool Q8Gemm => s_library is not null && (s_library.Supported & SupportsQ8) != 0 && !Disabled;

    /// <summary>Starts from <see cref="DisableVariable"/>; tests set it to run the managed path in the same process.</summary>
    internal static bool Disabled { get; set; } = IsDisabledBy(Environment.GetEnvironmentVariable(DisableVariable));

    /// <summary>Why the library is or is not used: the loaded path, or the reason for the managed fallback.</summary>
    public static string Status => Disabled ? $"disabled by {DisableVariable}" : s_status;

    internal static bool IsDisabledBy(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "0" or "FALSE" or "OFF" or "NO";

    /// <summary>
    /// <paramref name="output"/>[r · outStride + k] = bf16(x[r · xStride + k]) rounded to nearest even, zeros from
    /// <paramref name="cols"/> to <paramref name="outStride"/>. The caller has checked both buffers hold the rows.
    /// </summary>
    public static void RoundRows(float* x, long xStride, int rows, int cols, ushort* output, long outStride) =>
        s_library!.RoundRows(x, xStride, rows, cols, output, outStride);

    /// <summary>
    /// y[t · yStride + j] = Σ bf16(x)[t][k] · w[firstRow + j][k] (+ bias[j]) for t &lt; tokens, j &lt; count ≤ 32, over all
    /// groups of the tiled bf16 matrix at <paramref name="weight"/>; <paramref name="panel"/> is 64-byte-aligned
    /// scratch of groups · 2048 bytes. The caller has checked every range (ProjectionJob.CheckNativeSpan).
    /// </summary>
    public static void Bf16Panel(byte* weight, long tileBytes, int groups, int firstRow, int count, ushort* x, long xStride,
        int tokens, float* y, long yStride, float* bias, uint* panel)
        => s_library!.Gemm(weight, tileBytes, groups, firstRow, count, x, xStride, tokens, y, yStride, bias, panel);

    /// <summary>
    /// Per block of 32 columns of each of <paramref name="rows"/> rows: scale = max|x| / 32767 into
    /// <paramref name="scales"/>[r · scaleStride + b] and x / scale rounded to int16 into
    /// <paramref name="output"/>[r · outStride + k], as <see cref="DecodeInput"/> quantizes for the Q8 decode
    /// kernel (in natural column order); zeros from <paramref name="cols"/> to blocks · 32.
    /// </summary>
    public static void QuantizeRows(float* x, long xStride, int rows, int cols, int blocks, short* output, long outStride, float* scales, long scaleStride) =>
        s_library!.Quantize(x, xStride, rows, cols, blocks, output, outStride, scales, scaleStride);

    /// <summary>
    /// y[t · yStride + j] = Σ_b xs[t][b] · ws[j][b] · Σ_(k in b) xq[t][k] · wq[firstRow + j][k] (+ bias[j]) for
    /// t &lt; tokens, j &lt; count ≤ 32, over all groups of the tiled Q8 matrix at <paramref name="weight"/>;
    /// <paramref name="panel"/> is 64-byte-aligned scratch of groups · 4 · 2176 bytes. The caller has checked every
    /// range (ProjectionJob's native panel checks).
    /// </summary>
    public static void Q8Panel(byte* weight, long tileBytes, int groups, int firstRow, int count, short* xq, long xqStride,
        float* xs, long xsStride, int tokens, float* y, long yStride, float* bias, uint* panel)
        => s_library!.Q8(weight, tileBytes, groups, firstRow, count, xq, xqStride, xs, xsStride, tokens, y, yStride, bias, panel);

    private static Library? Load(out string status)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            status = $"no native kernels for {RuntimeInformation.RuntimeIdentifier}";
            return null;
        }

        string directory = Path.GetDirectoryName(typeof(NativeKernels).Assembly.Location) ?? AppContext.BaseDirectory;
        string path = Path.Combine(directory, "runtimes", "linux-x64", "native", LibraryName);
        if (!File.Exists(path))
        {
            status = $"{LibraryName} not built (no C compiler at build time)";
            return null;
        }

        if (!NativeLibrary.TryLoad(path, out IntPtr handle))
        {
            status = $"{path} did not load";
            return null;
        }

        // The library stays loaded for the process: the function pointers below live as long as the engine.
        if (!NativeLibrary.TryGetExport(handle, "hdx_abi_version", out IntPtr version)
            || ((delegate* unmanaged<int>)version)() != AbiVersion)
        {
            status = $"{path} is of another ABI version than {AbiVersion}";
            return null;
        }

        int supported = ((delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "hdx_supports"))();
        if (supported == 0)
        {
            status = "CPU lacks AVX512-BF16 and AVX512-VNNI";
            return null;
        }

        string kernels = (supported & SupportsBf16) != 0 ? (supported & SupportsQ8) != 0 ? "AVX512-BF16 and AVX512-VNNI" : "AVX512-BF16 (no VNNI)" : "AVX512-VNNI (no BF16)";
        status = $"{kernels} kernels from {path}";
        return new Library(
            supported,
            (delegate* unmanaged<float*, long, int, int, ushort*, long, void>)NativeLibrary.GetExport(handle, "hdx_bf16_round_rows"),
            (delegate* unmanaged<byte*, long, int, int, int, ushort*, long, int, float*, long, float*, uint*, void>)NativeLibrary.GetExport(handle, "hdx_bf16_gemm_panel"),
            (delegate* unmanaged<float*, long, int, int, int, short*, long, float*, long, void>)NativeLibrary.GetExport(handle, "hdx_q8_quantize_rows"),
            (delegate* unmanaged<byte*, long, int, int, int, short*, long, float*, long, int, float*, long, float*, uint*, void>)NativeLibrary.GetExport(handle, "hdx_q8_gemm_panel"));
    }

    private sealed class Library
    {
        public Library(
            int supported,
            delegate* unmanaged<float*, long, int, int, ushort*, long, void> roundRows,
            delegate* unmanaged<byte*, long, int, int, int, ushort*, long, int, float*, long, float*, uint*, void> gemm,
            delegate* unmanaged<float*, long, int, int, int, short*, long, float*, long, void> quantize,
            delegate* unmanaged<byte*, long, int, int, int, short*, long, float*, long, int, float*, long, float*, uint*, void> q8)
        {
            Supported = supported;
            RoundRows = roundRows;
            Gemm = gemm;
            Quantize = quantize;
            Q8 = q8;
        }

        public int Supported { get; }

        public delegate* unmanaged<float*, long, int, int, int, short*, long, float*, long, void> Quantize { get; }

        public delegate* unmanaged<byte*, long, int, int, int, short*, long, float*, long, int, float*, long, float*, uint*, void> Q8 { get; }

        public delegate* unmanaged<float*, long, int, int, ushort*, long, void> RoundRows { get; }

        public delegate* unmanaged<byte*, long, int, int, int, ushort*, long, int, float*, long, float*, uint*, void> Gemm { get; }
    }
}
