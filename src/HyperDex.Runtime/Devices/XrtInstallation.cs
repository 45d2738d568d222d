using System.Text.Json;

namespace HyperDex.Runtime.Devices;

/// <summary>
/// An XRT installation: the root (<c>XILINX_XRT</c>, default <c>/opt/xilinx/xrt</c>), its version from
/// <c>version.json</c> ("BUILD_VERSION", written by XRT's CMake from src/CMake/config/version.json.in) and the path of
/// libxrt_coreutil, which exports XRT's C device API.
/// </summary>
public sealed record XrtInstallation(string Root, string? Version, string? CoreUtilPath)
{
    public const string RootVariable = "XILINX_XRT";
    public const string DefaultRoot = "/opt/xilinx/xrt";

    private static readonly string[] LibraryNames = ["libxrt_coreutil.so", "libxrt_coreutil.so.2"];
    private static readonly string[] LibraryDirectories = ["lib", "lib64"];

    /// <summary>The installation at <paramref name="root"/>, or null when that directory does not exist.</summary>
    public static XrtInstallation? Locate(string root)
    {
        if (!Directory.Exists(root))
        {
            return null;
        }

        string? library = LibraryDirectories
            .SelectMany(dir => LibraryNames.Select(name => Path.Combine(root, dir, name)))
            .FirstOrDefault(File.Exists);
        return new XrtInstallation(root, ReadVersion(Path.Combine(root, "version.json")), library);
    }

    internal static string? ReadVersion(string path)
    {
        string? text = SysfsFiles.ReadText(path);
        if (text is null)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("BUILD_VERSION", out JsonElement version)
                && version.ValueKind == JsonValueKind.String
                && version.GetString() is { Length: > 0 } value
                ? value
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
