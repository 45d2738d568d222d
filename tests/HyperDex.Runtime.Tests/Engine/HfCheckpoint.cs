using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>
/// A HuggingFace Llama folder read (or written) directly for tests: config.json and one model.safetensors, tensors
/// widened to fp32. Independent of the runtime's own checkpoint code on purpose.
/// </summary>
public sealed class HfCheckpoint
{
    public HfCheckpoint(JsonObject config, Dictionary<string, (float[] Data, int[] Shape)> tensors)
    {
        Config = config;
        Tensors = tensors;
    }

    public JsonObject Config { get; }

    public Dictionary<string, (float[] Data, int[] Shape)> Tensors { get; }

    public int Hidden => Int("hidden_size");

    public int Layers => Int("num_hidden_layers");

    public int Heads => Int("num_attention_heads");

    public int KvHeads => Config["num_key_value_heads"] is null ? Heads : Int("num_key_value_heads");

    public int HeadDim => Config["head_dim"] is null ? Hidden / Heads : Int("head_dim");

    public int Intermediate => Int("intermediate_size");

    public int Vocab => Int("vocab_size");

    public double Eps => Config["rms_norm_eps"]!.GetValue<double>();

    public double RopeTheta => Config["rope_theta"]?.GetValue<double>() ?? 10000;

    public bool Tied => Config["tie_word_embeddings"]?.GetValue<bool>() ?? false;

    public int Int(string name) => Config[name]!.GetValue<int>();

    public float[] Get(string name) => Tensors[name].Data;

    public float[] LmHead => Tensors.TryGetValue("lm_head.weight", out var head) ? head.Data : Get("model.embed_tokens.weight");

    public static HfCheckpoint Read(string folder)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        byte[] file = File.ReadAllBytes(Path.Combine(folder, "model.safetensors"));
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(file);
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
        var tensors = new Dictionary<string, (float[], int[])>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                continue;
            }

            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            int[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var bytes = file.AsSpan((int)(8 + headerLength + offsets[0]), (int)(offsets[1] - offsets[0]));
            float[] data = dtype switch
            {
                "F32" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
                "F16" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h).ToArray(),
                "BF16" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes).ToArray().Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray(),
                _ => throw new NotSupportedException(dtype),
            };
            tensors[entry.Name] = (data, shape);
        }

        return new HfCheckpoint(config, tensors);
    }

    /// <summary>Writes config.json and an F32 model.safetensors.</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config.ToJsonString());
        var header = new JsonObject();
        long offset = 0;
        foreach (var (name, (data, shape)) in Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length * 4L),
            };
            offset += data.Length * 4L;
        }

        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var stream = File.Create(Path.Combine(folder, "model.safetensors"));
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        foreach (var (_, (data, _)) in Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        }
    }

    /// <summary>A Llama with deterministic random weights (std 0.02-ish, norms near 1).</summary>
    public static HfCheckpoint Random(int seed, int hidden = 64, int layers = 2, int heads = 8, int kvHeads = 4, int intermediate = 96,
        int vocab = 256, bool tied = false, JsonObject? ropeScaling = null)
    {
        var random = new Random(seed);
        int headDim = hidden / heads;
        var tensors = new Dictionary<string, (float[], int[])>();
        void Add(string name, float scale, float center, params int[] shape)
        {
            var data = new float[shape.Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = center + scale * (float)(random.NextDouble() * 2 - 1);
            }

            tensors[name] = (data, shape);
        }

        Add("model.embed_tokens.weight", 1f, 0, vocab, hidden);
        for (int l = 0; l < layers; l++)
        {
            string p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", 0.2f, 1, hidden);
            Add(p + "self_attn.q_proj.weight", 0.3f, 0, heads * headDim, hidden);
            Add(p + "self_attn.k_proj.weight", 0.3f, 0, kvHeads * headDim, hidden);
            Add(p + "self_attn.v_proj.weight", 0.3f, 0, kvHeads * headDim, hidden);
            Add(p + "self_attn.o_proj.weight", 0.2f, 0, hidden, heads * headDim);
            Add(p + "post_attention_layernorm.weight", 0.2f, 1, hidden);
            Add(p + "mlp.gate_proj.weight", 0.2f, 0, intermediate, hidden);
            Add(p + "mlp.up_proj.weight", 0.2f, 0, intermediate, hidden);
            Add(p + "mlp.down_proj.weight", 0.2f, 0, hidden, intermediate);
        }

        Add("model.norm.weight", 0.2f, 1, hidden);
        if (!tied)
        {
            Add("lm_head.weight", 0.3f, 0, vocab, hidden);
        }

        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = hidden,
            ["intermediate_size"] = intermediate,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads,
            ["vocab_size"] = vocab,
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = tied,
        };
        if (ropeScaling is not null)
        {
            config["rope_scaling"] = ropeScaling;
        }

        return new HfCheckpoint(config, tensors);
    }
}
