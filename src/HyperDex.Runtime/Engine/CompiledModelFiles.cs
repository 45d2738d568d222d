using System.Text.Json;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>Reads the artifacts of a compiled model folder, turning every way it can be missing or broken into a specific error.</summary>
public static class CompiledModelFiles
{
    private const string Recompile = "Run the Invoke-HdxCompile that built it again: it checks the folder and rebuilds what is missing or broken.";

    /// <summary>A program of a very large model is a few MB; beyond this a JSON artifact is not one the compiler wrote.</summary>
    private const long MaxJsonBytes = 256L << 20;

    /// <summary>hdx.json of a complete compiled model, after the structural check every load runs (<see cref="CompiledModelCheck"/>).</summary>
    public static CompiledManifest ReadManifest(string modelPath)
    {
        CompiledManifest manifest = ReadManifestUnchecked(modelPath);

        // Every load: sizes and small files' hashes against hdx.json, every variant's programs and indexes in bounds.
        CompiledModelCheck.Quick(modelPath, manifest);
        return manifest;
    }

    /// <summary>hdx.json, present, parseable and of this format version; its artifacts not yet checked.</summary>
    internal static CompiledManifest ReadManifestUnchecked(string modelPath)
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

    /// <summary>A device program, checked to be the one asked for and within bounds for hdx.json's MaxLength.</summary>
    public static DeviceProgram ReadProgram(string modelPath, int numDevice, int device)
    {
        var program = ReadProgramUnchecked(modelPath, numDevice, device);
        int maxLength = Read<CompiledManifest>(CompiledLayout.Manifest(modelPath)).MaxLength;
        if (ProgramBounds.Problem(program, Math.Min(maxLength, CompiledModelCheck.MaxLengthBound)) is string problem)
        {
            throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData,
                $"{CompiledLayout.Program(modelPath, numDevice, device)}: {problem}", modelPath, Recompile);
        }

        return program;
    }

    internal static DeviceProgram ReadProgramUnchecked(string modelPath, int numDevice, int device)
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
            // Compiled JSON files are small; a FIFO or a device file in their place is refused, not read forever.
            using FileStream stream = RegularFile.OpenRead(path) ?? throw new JsonException("it is not a readable regular file");
            if (stream.Length > MaxJsonBytes)
            {
                throw new JsonException($"it holds {stream.Length} bytes, more than any compiled JSON file");
            }

            return System.Text.Json.JsonSerializer.Deserialize<T>(stream, CompiledJson.Options) ?? throw new JsonException("it is empty (null)");
        }
        catch (JsonException error)
        {
            throw new HdxException("CompiledModelInvalid", HdxErrorKind.InvalidData, $"'{path}' is not a valid {typeof(T).Name}: {error.Message}",
                path, Recompile, error);
        }
    }
}
