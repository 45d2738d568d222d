using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>Reads the artifacts of a compiled model folder, turning every way it can be missing or broken into a specific error.</summary>
public static class CompiledModelFiles
{
    private const string Recompile = "Run the Invoke-HdxCompile that built it again: it checks the folder and rebuilds what is missing or broken.";

    /// <summary>hdx.json of a complete compiled model.</summary>
    public static CompiledManifest ReadManifest(string modelPath)
    {
        if (!Directory.Exists(modelPath))
        {
            throw new HdxException("CompiledModelNotFound", HdxErrorKind.NotFound,
                $"no compiled model folder at '{modelPath}'", modelPath, "Give the folder Invoke-HdxCompile wrote.");
        }

        string manifestPath = CompiledLayout.Manifest(modelPath);
        if (!File.Exists(manifestPath))
        {
            throw new HdxException("CompiledModelIncomplete", HdxErrorKind.InvalidData,
                $"'{modelPath}' has no {CompiledLayout.ManifestFile}: the compilation did not finish or this is not a compiled model",
                modelPath, Recompile);
        }

        CompiledManifest manifest = Read<CompiledManifest>(manifestPath);
        if (manifest.FormatVersion != CompiledManifest.CurrentFormatVersion)
        {
            throw new HdxException("CompiledModelVersionUnsupported", HdxErrorKind.NotSupported,
                $"'{modelPath}' has format version {manifest.FormatVersion}; this module reads {CompiledManifest.CurrentFormatVersion}", modelPath, Recompile);
        }

        if (manifest.WeightLayout != CompiledManifest.HostTilesLayout)
        {
            throw new HdxException("CompiledModelLayoutUnsupported", HdxErrorKind.NotSupported,
                $"'{modelPath}' lays out its weights as '{manifest.WeightLayout}', which the host engine does not read (it reads '{CompiledManifest.HostTilesLayout}')",
                modelPath, "Compile the model again for the host engine with Invoke-HdxCompile.");
        }

        return manifest;
    }

    public static DeviceProgram ReadProgram(string modelPath, int numDevice, int device)
    {
        var program = Read<DeviceProgram>(Existing(CompiledLayout.Program(modelPath, numDevice, device)));
        if (program.NumDevice != numDevice || program.Device != device || program.FormatVersion != CompiledManifest.CurrentFormatVersion)
        {
            throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
                $"{CompiledLayout.Program(modelPath, numDevice, device)} is not the program of device {device} of {numDevice}", modelPath, Recompile);
        }

        return program;
    }

    public static ParamIndex ReadParamIndex(string modelPath, int numDevice, int device) =>
        Read<ParamIndex>(Existing(CompiledLayout.ParamIndex(modelPath, numDevice, device)));

    internal static string Existing(string path) => File.Exists(path)
        ? path
        : throw new HdxException("CompiledModelIncomplete", HdxErrorKind.InvalidData, $"'{path}' is missing", path, Recompile);

    private static T Read<T>(string path)
    {
        try
        {
            return CompiledJson.Read<T>(path);
        }
        catch (JsonException error)
        {
            throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData, $"'{path}' is not a valid {typeof(T).Name}: {error.Message}",
                path, Recompile, error);
        }
    }
}
