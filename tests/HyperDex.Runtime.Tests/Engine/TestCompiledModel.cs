using System.Runtime.InteropServices;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// Writes a compiled model folder for an <see cref="HfCheckpoint"/> following DESIGN.md's contract (Megatron
/// partitioning, the Llama program), so engine tests do not depend on the compiler branch and double as a check that
/// the engine reads the contract as documented. The real compiler's output is tested separately.
/// </summary>
public static class TestCompiledModel
{
    public static string Write(HfCheckpoint c, string folder, HdxDtype dtype = HdxDtype.F32, int[]? numDevices = null,
        int blockSize = 16, int maxLength = 256, bool includeManifest = true, int eosId = 2)
    {
        numDevices ??= [1, 2, 4];
        var variants = new List<DeviceVariant>();
        foreach (int n in numDevices)
        {
            for (int d = 0; d < n; d++)
            {
                var tensors = Shard(c, n, d);
                WriteImage(folder, n, d, tensors, dtype);
                Directory.CreateDirectory(Path.GetDirectoryName(CompiledLayout.Program(folder, n, d))!);
                CompiledJson.Write(CompiledLayout.Program(folder, n, d), Program(c, n, d, blockSize, maxLength));
            }

            variants.Add(new DeviceVariant { NumDevice = n, ProgramDigest = "test", ParamBytesPerDevice = 0 });
        }

        if (includeManifest)
        {
            CompiledJson.Write(CompiledLayout.Manifest(folder), new CompiledManifest
            {
                ModelId = "test/" + Path.GetFileName(folder),
                SourcePath = folder,
                SourceHashes = new Dictionary<string, string>(),
                Architecture = new ModelArchitecture
                {
                    Name = "LlamaForCausalLM", HiddenSize = c.Hidden, Layers = c.Layers, Heads = c.Heads, KvHeads = c.KvHeads,
                    HeadDim = c.HeadDim, IntermediateSize = c.Intermediate, VocabSize = c.Vocab, MaxPositions = maxLength, TiedEmbeddings = c.Tied,
                },
                Dtype = dtype,
                MaxLength = maxLength,
                ParameterCount = c.Tensors.Values.Sum(t => (long)t.Data.Length),
                TokenizerFiles = [],
                Generation = new GenerationDefaults { BosTokenId = 1, EosTokenIds = [eosId] },
                Variants = variants,
            });
        }

        return folder;
    }

    private static List<(string Name, float[] Data, int[] Shape)> Shard(HfCheckpoint c, int n, int d)
    {
        var list = new List<(string, float[], int[])>();
        void Whole(string name, string hf) => list.Add((name, c.Get(hf), c.Tensors[hf].Shape));
        void Rows(string name, float[] data, int rows, int cols)
        {
            int per = rows / n;
            list.Add((name, data.AsSpan(d * per * cols, per * cols).ToArray(), [per, cols]));
        }

        void Columns(string name, float[] data, int rows, int cols)
        {
            int per = cols / n;
            var slice = new float[rows * per];
            for (int r = 0; r < rows; r++)
            {
                data.AsSpan(r * cols + d * per, per).CopyTo(slice.AsSpan(r * per));
            }

            list.Add((name, slice, [rows, per]));
        }

        int hd = c.HeadDim;
        Whole("embed", "model.embed_tokens.weight");
        for (int l = 0; l < c.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Whole($"layers.{l}.attn_norm", p + "input_layernorm.weight");
            Rows($"layers.{l}.attn.q", c.Get(p + "self_attn.q_proj.weight"), c.Heads * hd, c.Hidden);
            Rows($"layers.{l}.attn.k", c.Get(p + "self_attn.k_proj.weight"), c.KvHeads * hd, c.Hidden);
            Rows($"layers.{l}.attn.v", c.Get(p + "self_attn.v_proj.weight"), c.KvHeads * hd, c.Hidden);
            Columns($"layers.{l}.attn.o", c.Get(p + "self_attn.o_proj.weight"), c.Hidden, c.Heads * hd);
            Whole($"layers.{l}.mlp_norm", p + "post_attention_layernorm.weight");
            Rows($"layers.{l}.mlp.gate", c.Get(p + "mlp.gate_proj.weight"), c.Intermediate, c.Hidden);
            Rows($"layers.{l}.mlp.up", c.Get(p + "mlp.up_proj.weight"), c.Intermediate, c.Hidden);
            Columns($"layers.{l}.mlp.down", c.Get(p + "mlp.down_proj.weight"), c.Hidden, c.Intermediate);
        }

        Whole("final_norm", "model.norm.weight");
        Rows("lm_head", c.LmHead, c.Vocab, c.Hidden);
        return list;
    }

    private static void WriteImage(string folder, int n, int d, List<(string Name, float[] Data, int[] Shape)> tensors, HdxDtype dtype)
    {
        string image = CompiledLayout.ParamImage(folder, n, d);
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        var entries = new List<ParamTensor>();
        using (var stream = File.Create(image))
        {
            foreach (var (name, data, shape) in tensors)
            {
                long padding = (CompiledLayout.TensorAlignment - stream.Position % CompiledLayout.TensorAlignment) % CompiledLayout.TensorAlignment;
                stream.Write(new byte[padding]);
                HdxDtype type = shape.Length == 1 ? HdxDtype.F32 : dtype;
                byte[] bytes = shape.Length == 1 ? MemoryMarshal.AsBytes(data.AsSpan()).ToArray() : Tiled(type, data, shape[0], shape[1]);
                entries.Add(new ParamTensor { Name = name, Dtype = type, Shape = shape, Offset = stream.Position, Length = bytes.Length });
                stream.Write(bytes);
            }

            CompiledJson.Write(CompiledLayout.ParamIndex(folder, n, d),
                new ParamIndex { NumDevice = n, Device = d, TotalBytes = stream.Position, Tensors = entries });
        }
    }

    /// <summary>A row-major [rows, cols] matrix in an image dtype, laid out in tiles by the compiler's writer.</summary>
    public static byte[] Tiled(HdxDtype dtype, float[] data, int rows, int cols)
    {
        using var stream = new MemoryStream();
        var writer = new TiledMatrixWriter("test", dtype, cols, stream);
        for (int r = 0; r < rows; r++)
        {
            writer.AddRow(data.AsSpan(r * cols, cols));
        }

        writer.Complete();
        return stream.ToArray();
    }

    /// <summary>The values Q8 stores, computed here independently: per 32 along a row, round(x / s) · s with s = max |x| / 127.</summary>
    public static float[] FromQ8(float[] data)
    {
        var values = new float[data.Length];
        for (int block = 0; block < data.Length / 32; block++)
        {
            var source = data.AsSpan(block * 32, 32);
            float max = 0;
            foreach (float v in source)
            {
                max = Math.Max(max, Math.Abs(v));
            }

            float scale = max / 127;
            for (int i = 0; i < 32; i++)
            {
                values[block * 32 + i] = scale == 0 ? 0 : (sbyte)Math.Round(source[i] / scale) * scale;
            }
        }

        return values;
    }

    /// <summary>Round-to-nearest-even fp32 → bf16, as torch does.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    private static DeviceProgram Program(HfCheckpoint c, int n, int d, int blockSize, int maxLength)
    {
        int hd = c.HeadDim, heads = c.Heads / n, kv = c.KvHeads / n, vocab = c.Vocab / n;
        var rope = new Dictionary<string, double> { ["heads"] = heads, ["kvHeads"] = kv, ["headDim"] = hd, ["rotaryDim"] = hd, ["theta"] = c.RopeTheta };
        var ropeModes = new Dictionary<string, string> { ["style"] = "half", ["scaling"] = "none" };
        var scaling = c.Config["rope_scaling"];
        string? type = scaling?["rope_type"]?.GetValue<string>() ?? scaling?["type"]?.GetValue<string>();
        if (type == "linear")
        {
            ropeModes["scaling"] = "linear";
            rope["factor"] = scaling!["factor"]!.GetValue<double>();
        }
        else if (type == "llama3")
        {
            ropeModes["scaling"] = "llama3";
            rope["factor"] = scaling!["factor"]!.GetValue<double>();
            rope["lowFreqFactor"] = scaling["low_freq_factor"]!.GetValue<double>();
            rope["highFreqFactor"] = scaling["high_freq_factor"]!.GetValue<double>();
            rope["originalMaxPositions"] = scaling["original_max_position_embeddings"]!.GetValue<double>();
        }

        var eps = new Dictionary<string, double> { ["eps"] = c.Eps };
        var rms = new Dictionary<string, string> { ["kind"] = "rms" };
        var instructions = new List<Instruction> { new() { Op = OpCode.Embed, Outputs = ["x"], Weights = ["embed"] } };
        for (int l = 0; l < c.Layers; l++)
        {
            instructions.Add(new() { Op = OpCode.Norm, Layer = l, Inputs = ["x"], Outputs = ["h"], Weights = [$"layers.{l}.attn_norm"], Attributes = eps, Modes = rms });
            instructions.Add(new() { Op = OpCode.Project, Layer = l, Inputs = ["h"], Outputs = ["q", "k", "v"], Weights = [$"layers.{l}.attn.q", $"layers.{l}.attn.k", $"layers.{l}.attn.v"] });
            instructions.Add(new() { Op = OpCode.Rotary, Layer = l, Inputs = ["q", "k"], Attributes = rope, Modes = ropeModes });
            instructions.Add(new() { Op = OpCode.KvWrite, Layer = l, Inputs = ["k", "v"] });
            instructions.Add(new() { Op = OpCode.Attention, Layer = l, Inputs = ["q"], Outputs = ["attn"], Attributes = new Dictionary<string, double> { ["heads"] = heads, ["kvHeads"] = kv, ["headDim"] = hd, ["scale"] = 1 / Math.Sqrt(hd) } });
            instructions.Add(new() { Op = OpCode.ProjectAllReduce, Layer = l, Inputs = ["attn"], Outputs = ["x"], Weights = [$"layers.{l}.attn.o"] });
            instructions.Add(new() { Op = OpCode.Norm, Layer = l, Inputs = ["x"], Outputs = ["h"], Weights = [$"layers.{l}.mlp_norm"], Attributes = eps, Modes = rms });
            instructions.Add(new() { Op = OpCode.Project, Layer = l, Inputs = ["h"], Outputs = ["act"], Weights = [$"layers.{l}.mlp.gate", $"layers.{l}.mlp.up"], Modes = new Dictionary<string, string> { ["epilogue"] = "gated", ["activation"] = "silu" } });
            instructions.Add(new() { Op = OpCode.ProjectAllReduce, Layer = l, Inputs = ["act"], Outputs = ["x"], Weights = [$"layers.{l}.mlp.down"] });
        }

        instructions.Add(new() { Op = OpCode.Norm, Inputs = ["x"], Outputs = ["h"], Weights = ["final_norm"], Attributes = eps, Modes = rms });
        instructions.Add(new() { Op = OpCode.Logits, Inputs = ["h"], Weights = ["lm_head"], Attributes = new Dictionary<string, double> { ["vocabStart"] = d * vocab, ["vocabCount"] = vocab } });
        return new DeviceProgram
        {
            NumDevice = n, Device = d, MaxLength = maxLength, KvBlockSize = blockSize, VocabSize = c.Vocab,
            Buffers = [new("x", c.Hidden), new("h", c.Hidden), new("q", heads * hd), new("k", kv * hd), new("v", kv * hd), new("attn", heads * hd), new("act", c.Intermediate / n)],
            KvCaches = Enumerable.Range(0, c.Layers).Select(l => new KvCacheDecl(l, kv, hd)).ToList(),
            Instructions = instructions,
        };
    }
}
