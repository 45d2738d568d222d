using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 2: writes ckpt/ — every expected tensor under its canonical name, cut from its checkpoint tensor by the
/// descriptor's transform (<see cref="TensorTransforms"/>), matrices in the target dtype, norms and biases in F32,
/// as one standard safetensors file — plus hdx_config.json. Streams in chunks; cancellable. A compile writes only
/// hdx_config.json unless asked to keep the checkpoint: phase 3 streams the same tensors from the source itself.
/// </summary>
public static class CheckpointConverter
{
    /// <summary>A tensor's dtype in ckpt/: norms and biases F32; the rest the target, F16 for an int8 compile (quantized in phase 3).</summary>
    public static HdxDtype TensorDtype(TensorRole role, HdxDtype target) => role switch
    {
        TensorRole.Norm or TensorRole.Bias => HdxDtype.F32,
        _ when target == HdxDtype.Q8 => HdxDtype.F16,
        _ => target,
    };

    /// <summary>
    /// Writes into <paramref name="modelFolder"/>/ckpt, which must not exist yet; <paramref name="finalFolder"/> is
    /// where the model folder will be once renamed into place (recorded in the report). Without
    /// <paramref name="weights"/> only hdx_config.json is written.
    /// </summary>
    public static ConvertedCheckpoint Write(ModelSource source, string modelFolder, string finalFolder, HdxDtype dtype,
        IReadOnlyDictionary<string, string> sourceHashes, Action<double, string> progress, CancellationToken cancellation, bool weights = true)
    {
        Directory.CreateDirectory(Path.Combine(modelFolder, CompiledLayout.CheckpointDirectory));
        if (weights)
        {
            WriteWeights(source, modelFolder, dtype, progress, cancellation);
        }

        var converted = new ConvertedCheckpoint
        {
            ModelId = source.ModelId,
            SourcePath = source.Folder,
            SourceHashes = sourceHashes,
            Dtype = TensorDtype(TensorRole.Matrix, dtype),
            Report = source.Report(Path.Combine(finalFolder, CompiledLayout.CheckpointDirectory), dtype),
            SourceConfig = source.Config.Json,
            Generation = source.Generation,
            TokenizerFiles = source.Tokenizer.Files,
        };
        CompiledJson.Write(CompiledLayout.CheckpointConfig(modelFolder), converted);
        return converted;
    }

    private static void WriteWeights(ModelSource source, string modelFolder, HdxDtype dtype, Action<double, string> progress, CancellationToken cancellation)
    {
        var specs = source.Shape.Tensors.Select(t => new TensorSpec(t.Canonical, TensorDtype(t.Role, dtype), t.Shape)).ToList();
        var bySpec = source.Shape.Tensors.ToDictionary(t => t.Canonical, StringComparer.Ordinal);
        long total = Math.Max(1, specs.Sum(s => s.ElementCount));
        long done = 0;
        var metadata = new Dictionary<string, string> { ["format"] = "hyperdex", ["source"] = source.ModelId };
        SafetensorsWriter.Write(CompiledLayout.CheckpointWeights(modelFolder), specs, (spec, stream) =>
        {
            var expected = bySpec[spec.Name];
            TensorTransforms.Write(source.Weights.FileOf(expected.Source), source.Weights.Get(expected.Source), expected, spec.Dtype, stream,
                elements =>
                {
                    done += elements;
                    progress((double)done / total, spec.Name);
                }, cancellation);
        }, metadata, cancellation);
    }
}
