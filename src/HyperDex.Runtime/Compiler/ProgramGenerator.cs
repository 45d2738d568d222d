using System.Security.Cryptography;
using System.Text.Json;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 4: the instruction stream of one device. Per layer: NormProject (x → q, k, v) → RotaryKvWrite → Attention →
/// ProjectAllReduceAdd (o) → NormGateUpActivation → ProjectAllReduceAdd (down); then FinalNormLogits. Head counts
/// and widths are the device's local ones; every scalar the engine needs is an attribute.
/// </summary>
public static class ProgramGenerator
{
    /// <summary>Tokens per KV block (block table granularity, shared with the prefix cache).</summary>
    public const int KvBlockSize = 16;

    public static DeviceProgram Build(ModelShape shape, int numDevice, int device, int maxLength)
    {
        int heads = shape.Heads / numDevice;
        int kvHeads = shape.KvHeads / numDevice;
        int qWidth = heads * shape.HeadDim;
        int kvWidth = kvHeads * shape.HeadDim;
        int intermediate = (int)Partition.Range("intermediate", shape.Intermediate, shape, numDevice, device).Count;
        var (vocabStart, vocabCount) = Partition.Range("vocab", shape.Vocab, shape, numDevice, device);

        var instructions = new List<Instruction>
        {
            new() { Op = OpCode.Embed, Outputs = ["x"], Weights = ["embed"] },
        };
        var kvCaches = new List<KvCacheDecl>();
        var rope = RopeAttributes(shape, heads, kvHeads);
        var attention = new Dictionary<string, double>
        {
            ["heads"] = heads,
            ["kvHeads"] = kvHeads,
            ["headDim"] = shape.HeadDim,
            ["scale"] = 1 / Math.Sqrt(shape.HeadDim),
        };
        for (int l = 0; l < shape.Layers; l++)
        {
            string p = $"layers.{l}.";
            string Bias(string name) => shape.QkvBias ? p + name : "";
            kvCaches.Add(new KvCacheDecl(l, kvHeads, shape.HeadDim));
            instructions.Add(new()
            {
                Op = OpCode.NormProject, Layer = l, Inputs = ["x"], Outputs = ["q", "k", "v"],
                Weights = [p + "attn_norm", p + "attn.q", p + "attn.k", p + "attn.v", Bias("attn.q_bias"), Bias("attn.k_bias"), Bias("attn.v_bias")],
                Attributes = new Dictionary<string, double> { ["eps"] = shape.Eps },
            });
            instructions.Add(new() { Op = OpCode.RotaryKvWrite, Layer = l, Inputs = ["q", "k", "v"], Attributes = rope });
            instructions.Add(new() { Op = OpCode.Attention, Layer = l, Inputs = ["q"], Outputs = ["attn"], Attributes = attention });
            instructions.Add(new()
            {
                Op = OpCode.ProjectAllReduceAdd, Layer = l, Inputs = ["attn"], Outputs = ["x"], Weights = [p + "attn.o", ""],
            });
            instructions.Add(new()
            {
                Op = OpCode.NormGateUpActivation, Layer = l, Inputs = ["x"], Outputs = ["act"],
                Weights = [p + "mlp_norm", p + "mlp.gate", p + "mlp.up"],
                Attributes = new Dictionary<string, double> { ["eps"] = shape.Eps, ["activation"] = shape.Activation },
            });
            instructions.Add(new()
            {
                Op = OpCode.ProjectAllReduceAdd, Layer = l, Inputs = ["act"], Outputs = ["x"], Weights = [p + "mlp.down", ""],
            });
        }

        instructions.Add(new()
        {
            Op = OpCode.FinalNormLogits, Inputs = ["x"], Outputs = ["logits"], Weights = ["final_norm", ParamMapper.HeadTensor(shape, numDevice)],
            Attributes = new Dictionary<string, double> { ["eps"] = shape.Eps, ["vocabStart"] = vocabStart, ["vocabCount"] = vocabCount },
        });

        return new DeviceProgram
        {
            NumDevice = numDevice,
            Device = device,
            MaxLength = maxLength,
            KvBlockSize = KvBlockSize,
            VocabSize = shape.Vocab,
            Buffers = new BufferDecl[]
            {
                new("x", shape.Hidden), new("q", qWidth), new("k", kvWidth), new("v", kvWidth), new("attn", qWidth),
                new("act", intermediate), new("logits", (int)vocabCount),
            },
            KvCaches = kvCaches,
            Instructions = instructions,
        };
    }

    private static Dictionary<string, double> RopeAttributes(ModelShape shape, int heads, int kvHeads)
    {
        var scaling = shape.RopeScaling;
        return new Dictionary<string, double>
        {
            ["heads"] = heads,
            ["kvHeads"] = kvHeads,
            ["headDim"] = shape.HeadDim,
            ["ropeTheta"] = shape.RopeTheta,
            ["ropeScalingType"] = shape.RopeScalingType,
            ["ropeFactor"] = scaling?.Factor ?? 1,
            ["ropeLowFreqFactor"] = scaling?.LowFreqFactor ?? 1,
            ["ropeHighFreqFactor"] = scaling?.HighFreqFactor ?? 4,
            ["ropeOriginalMaxPositions"] = scaling is { OriginalMaxPositions: > 0 } ? scaling.OriginalMaxPositions : shape.MaxPositions,
        };
    }

    /// <summary>sha256 over the serialized programs in device order (the manifest's ProgramDigest).</summary>
    public static string Digest(IEnumerable<DeviceProgram> programs)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var program in programs)
        {
            hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(program, CompiledJson.Options));
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }
}
