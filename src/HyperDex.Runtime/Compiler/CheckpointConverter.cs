using System.Text.Json;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 2: writes ckpt/ — every expected tensor under its canonical name, cut from its checkpoint tensor by the
/// descriptor's transform (<see cref="TensorTransforms"/>), matrices in the target dtype, norms and biases in F32,
/// as one standard safetensors file — plus hdx_config.json. Streams in chunks; cancellable.
/// </summary>
public static class CheckpointConverter
{
    private const int ChunkElements = 1 << 16;

    /// <summary>A tensor's dtype in ckpt/: norms and biases F32; the rest the target, F16 for an int8 compile (quantized in phase 3).</summary>
    public static HdxDtype TensorDtype(TensorRole role, HdxDtype target) => role switch
    {
        TensorRole.Norm or TensorRole.Bias => HdxDtype.F32,
        _ when target == HdxDtype.Q8 => HdxDtype.F16,
        _ => target,
    };

    /// <summary>
    /// Writes into <paramref name="modelFolder"/>/ckpt, which must not exist yet; <paramref name="finalFolder"/> is
    /// where the model folder will be once renamed into place (recorded in the report).
    /// </summary>
    public static ConvertedCheckpoint Write(ModelSource source, string modelFolder, string finalFolder, HdxDtype dtype,
        IReadOnlyDictionary<string, string> sourceHashes, Action<double, string> progress, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.Combine(modelFolder, CompiledLayout.CheckpointDirectory));
        var specs = source.Shape.Tensors.Select(t => new TensorSpec(t.Canonical, TensorDtype(t.Role, dtype), t.Shape)).ToList();
        var bySpec = source.Shape.Tensors.ToDictionary(t => t.Canonical, StringComparer.Ordinal);
        long total = Math.Max(1, specs.Sum(s => s.ElementCount));
        long done = 0;
        var floats = new float[ChunkElements];
        var bytes = new byte[ChunkElements * 4];
        var metadata = new Dictionary<string, string> { ["format"] = "hyperdex", ["source"] = source.ModelId };
        SafetensorsWriter.Write(CompiledLayout.CheckpointWeights(modelFolder), specs, (spec, stream) =>
        {
            var expected = bySpec[spec.Name];
            var tensor = source.Weights.Get(expected.Source);
            var file = source.Weights.FileOf(expected.Source);
            if (!expected.Transform.IsNone)
            {
                TensorTransforms.Write(file, tensor, expected, spec.Dtype, stream, cancellation);
                done += spec.ElementCount;
                progress((double)done / total, spec.Name);
                return;
            }

            int size = SafetensorsDtypes.ElementSize(spec.Dtype);
            for (long start = 0; start < spec.ElementCount; start += ChunkElements)
            {
                cancellation.ThrowIfCancellationRequested();
                int count = (int)Math.Min(ChunkElements, spec.ElementCount - start);
                if (tensor.Dtype == spec.Dtype)
                {
                    stream.Write(file.RawElements(tensor, start, count));
                }
                else
                {
                    file.ReadSingles(tensor, start, floats.AsSpan(0, count));
                    ElementConversion.FromSingle(floats.AsSpan(0, count), spec.Dtype, bytes.AsSpan(0, count * size));
                    stream.Write(bytes, 0, count * size);
                }

                done += count;
                progress((double)done / total, spec.Name);
            }
        }, metadata, cancellation);

        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(source.Folder, HfModelConfig.FileName)));
        var converted = new ConvertedCheckpoint
        {
            ModelId = source.ModelId,
            SourcePath = source.Folder,
            SourceHashes = sourceHashes,
            Dtype = TensorDtype(TensorRole.Matrix, dtype),
            Report = source.Report(Path.Combine(finalFolder, CompiledLayout.CheckpointDirectory), dtype),
            SourceConfig = config.RootElement.Clone(),
            Generation = source.Generation,
            TokenizerFiles = source.Tokenizer.Files,
        };
        CompiledJson.Write(CompiledLayout.CheckpointConfig(modelFolder), converted);
        return converted;
    }
}
