using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;

namespace HyperDex.Runtime.Engine;

/// <summary>
/// The fast structural check every load runs (<see cref="CompiledModelFiles.ReadManifest"/>): every artifact hdx.json
/// lists exists with its recorded size, the small ones (programs, indexes, tokenizer) hash to their recorded XXH128,
/// and every variant's programs and indexes are within bounds. Weight images are only sized here (hashing gigabytes
/// at every load would cost seconds); <see cref="CompiledModelVerifier"/> checks them on demand.
/// </summary>
internal static class CompiledModelCheck
{
    /// <summary>Longer than any supported model's context by far; bounds what hdx.json can ask the engine to size.</summary>
    public const int MaxLengthBound = 1 << 24;

    public const int MaxDevices = 64;

    public static void Quick(string modelPath, CompiledManifest manifest)
    {
        if (Problems(modelPath, manifest, hashAll: false, null, CancellationToken.None).FirstOrDefault() is (string id, string message))
        {
            throw new HdxException(id, HdxErrorKind.InvalidData, message, modelPath,
                "Run the Invoke-HdxCompile that built it again: it checks the folder and rebuilds what is missing or broken (Test-HdxModel lists every problem).");
        }
    }

    /// <summary>Every problem found, as (ErrorId, message): files first, then each variant's structure.</summary>
    public static IEnumerable<(string ErrorId, string Message)> Problems(string modelPath, CompiledManifest manifest, bool hashAll,
        Action<string, long>? progress, CancellationToken cancellation)
    {
        if (manifest.Variants is null || manifest.Architecture is null || manifest.MaxLength < 1 || manifest.MaxLength > MaxLengthBound
            || manifest.Variants.Any(v => v is null || v.NumDevice < 1 || v.NumDevice > MaxDevices))
        {
            yield return ("CompiledModelInvalid", $"{CompiledLayout.Manifest(modelPath)}: MaxLength or the variant list is missing or out of bounds");
            yield break;
        }

        foreach (var (key, expected) in manifest.Files ?? new Dictionary<string, FileChecksum>())
        {
            cancellation.ThrowIfCancellationRequested();
            if (FileProblem(modelPath, key, expected, hashAll, progress, cancellation) is (string, string) problem)
            {
                yield return problem;
            }
        }

        foreach (var variant in manifest.Variants)
        {
            for (int d = 0; d < variant.NumDevice; d++)
            {
                if (DeviceProblem(modelPath, manifest, variant.NumDevice, d) is string problem)
                {
                    yield return ("CompiledModelInvalid", problem);
                }
            }
        }
    }

    private static (string, string)? FileProblem(string modelPath, string key, FileChecksum? expected, bool hashAll,
        Action<string, long>? progress, CancellationToken cancellation)
    {
        string? path = ArtifactChecksums.Resolve(modelPath, key);
        if (path is null)
        {
            return ("CompiledModelInvalid", $"{CompiledLayout.Manifest(modelPath)} lists '{key}', which is not a path inside the model folder");
        }

        if (expected?.Xxh128 is null)
        {
            return ("CompiledModelInvalid", $"{CompiledLayout.Manifest(modelPath)} lists '{key}' without its xxh128 checksum");
        }

        long size;
        using (FileStream? stream = RegularFile.OpenRead(path))
        {
            if (stream is null)
            {
                return ("CompiledModelIncomplete", $"'{path}' is missing or not a regular file");
            }

            size = stream.Length;
        }

        if (size != expected.Size)
        {
            return ("CompiledModelCorrupt", $"'{path}' holds {size} bytes; hdx.json recorded {expected.Size} (truncated or replaced)");
        }

        if (!hashAll && size > ArtifactChecksums.QuickHashLimit)
        {
            return null;
        }

        string? hash = ArtifactChecksums.Hash(path, out _, read => progress?.Invoke(key, read), cancellation);
        return string.Equals(hash, expected.Xxh128, StringComparison.OrdinalIgnoreCase)
            ? null
            : ("CompiledModelCorrupt", $"'{path}' does not match the xxh128 hdx.json recorded (damaged or changed since it was compiled)");
    }

    private static string? DeviceProblem(string modelPath, CompiledManifest manifest, int numDevice, int device)
    {
        try
        {
            var program = CompiledModelFiles.ReadProgramUnchecked(modelPath, numDevice, device);
            if (ProgramBounds.Problem(program, manifest.MaxLength) is string programProblem)
            {
                return $"{CompiledLayout.Program(modelPath, numDevice, device)}: {programProblem}";
            }

            var index = CompiledModelFiles.ReadParamIndex(modelPath, numDevice, device);
            if (index.NumDevice != numDevice || index.Device != device)
            {
                return $"{CompiledLayout.ParamIndex(modelPath, numDevice, device)} is not the index of device {device} of {numDevice}";
            }

            using FileStream? image = RegularFile.OpenRead(CompiledLayout.ParamImage(modelPath, numDevice, device));
            return image is null
                ? $"{CompiledLayout.ParamImage(modelPath, numDevice, device)} is missing or not a regular file"
                : ParamIndexBounds.Problem(index, image.Length) is string indexProblem
                    ? $"{CompiledLayout.ParamIndex(modelPath, numDevice, device)}: {indexProblem}"
                    : null;
        }
        catch (HdxException e)
        {
            return e.Message;
        }
    }
}
