using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.TestTools;

/// <summary>The shape of a generated random-weight model.</summary>
public sealed record TinyModelSpec
{
    public int Layers { get; init; } = 2;

    public int Hidden { get; init; } = 64;

    public int Heads { get; init; } = 4;

    public int KvHeads { get; init; } = 2;

    public int Intermediate { get; init; } = 128;

    /// <summary>Embedding rows (config vocab_size); the tokenizer uses up to 274 of them.</summary>
    public int Vocab { get; init; } = 300;

    public int MaxPositions { get; init; } = 256;

    public bool Tied { get; init; }

    public int Shards { get; init; } = 1;

    public HdxDtype Dtype { get; init; } = HdxDtype.F32;

    public int Seed { get; init; } = 1;

    public string Architecture { get; init; } = "LlamaForCausalLM";

    /// <summary>
    /// Give every embedding row a vocabulary entry ("w{id}", reachable by no merge, so encoding is unchanged), so any id
    /// a random model picks can be decoded: for benchmarks that detokenize (the serving benchmark).
    /// </summary>
    public bool FillVocab { get; init; }

    /// <summary>
    /// The output row of &lt;/s&gt; is zero, so its logit is 0 while greedy decoding takes the largest of the other,
    /// random logits (positive for all but a vanishing share of steps): an answer never ends by itself, for tests that
    /// must interrupt one while it streams, however fast the engine is.
    /// </summary>
    public bool NoEos { get; init; }
}

/// <summary>
/// Writes a tiny random-weight Llama-family model in HuggingFace layout: config.json, generation_config.json, real
/// safetensors (sharded with model.safetensors.index.json when asked) and a small, valid GPT-2-style byte-level BPE
/// tokenizer.json (256 byte tokens, a few merges, &lt;s&gt;/&lt;/s&gt; specials, a TemplateProcessing that adds &lt;s&gt;).
/// </summary>
public static class TinyModel
{
    private const int WriteChunk = 1 << 20;

    /// <summary>Merges in training order; each only uses tokens that exist before it.</summary>
    private static readonly (string, string)[] MergeList =
    {
        ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("o", "n"), ("Ġ", "a"), ("r", "e"),
        ("a", "t"), ("e", "n"), ("Ġ", "s"), ("o", "u"), ("Ġ", "w"), ("i", "s"), ("Ġ", "b"), ("l", "l"),
    };

    public static int MergeCount(TinyModelSpec spec) => Math.Min(MergeList.Length, spec.Vocab - 258);

    public static int BosId(TinyModelSpec spec) => 256 + MergeCount(spec);

    public static int EosId(TinyModelSpec spec) => 257 + MergeCount(spec);

    public static void Write(string folder, TinyModelSpec spec)
    {
        if (spec.Vocab < 258)
        {
            throw new ArgumentException("--vocab must be at least 258 (256 bytes + <s> + </s>)");
        }

        Directory.CreateDirectory(folder);
        WriteJson(Path.Combine(folder, "config.json"), Config(spec));
        WriteJson(Path.Combine(folder, "generation_config.json"), new JsonObject
        {
            ["bos_token_id"] = BosId(spec),
            ["eos_token_id"] = EosId(spec),
            ["do_sample"] = false,
        });
        WriteWeights(folder, spec);
        WriteTokenizer(folder, spec);
    }

    private static JsonObject Config(TinyModelSpec spec)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(spec.Architecture),
            ["model_type"] = spec.Architecture switch { "Qwen2ForCausalLM" => "qwen2", "MistralForCausalLM" => "mistral", _ => "llama" },
            ["hidden_size"] = spec.Hidden,
            ["intermediate_size"] = spec.Intermediate,
            ["num_hidden_layers"] = spec.Layers,
            ["num_attention_heads"] = spec.Heads,
            ["num_key_value_heads"] = spec.KvHeads,
            ["vocab_size"] = spec.Vocab,
            ["max_position_embeddings"] = spec.MaxPositions,
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = 10000.0,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = spec.Tied,
            ["bos_token_id"] = BosId(spec),
            ["eos_token_id"] = EosId(spec),
            ["torch_dtype"] = spec.Dtype switch { HdxDtype.F16 => "float16", HdxDtype.BF16 => "bfloat16", _ => "float32" },
        };
        if (spec.Architecture == "Qwen2ForCausalLM")
        {
            config["use_sliding_window"] = false;
            config["sliding_window"] = spec.MaxPositions;
        }
        else
        {
            config["attention_bias"] = false;
        }

        return config;
    }

    /// <summary>HF tensor names and shapes in HF's order, with how to initialise them.</summary>
    public static IReadOnlyList<(string Name, long[] Shape, bool IsNorm)> Tensors(TinyModelSpec spec)
    {
        int headDim = spec.Hidden / spec.Heads;
        long q = spec.Heads * headDim;
        long kv = spec.KvHeads * headDim;
        var list = new List<(string, long[], bool)> { ("model.embed_tokens.weight", new long[] { spec.Vocab, spec.Hidden }, false) };
        bool bias = spec.Architecture == "Qwen2ForCausalLM";
        for (int l = 0; l < spec.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            list.Add((p + "input_layernorm.weight", new long[] { spec.Hidden }, true));
            list.Add((p + "self_attn.q_proj.weight", new[] { q, spec.Hidden }, false));
            list.Add((p + "self_attn.k_proj.weight", new[] { kv, spec.Hidden }, false));
            list.Add((p + "self_attn.v_proj.weight", new[] { kv, spec.Hidden }, false));
            if (bias)
            {
                list.Add((p + "self_attn.q_proj.bias", new[] { q }, false));
                list.Add((p + "self_attn.k_proj.bias", new[] { kv }, false));
                list.Add((p + "self_attn.v_proj.bias", new[] { kv }, false));
            }

            list.Add((p + "self_attn.o_proj.weight", new[] { spec.Hidden, q }, false));
            list.Add((p + "post_attention_layernorm.weight", new long[] { spec.Hidden }, true));
            list.Add((p + "mlp.gate_proj.weight", new long[] { spec.Intermediate, spec.Hidden }, false));
            list.Add((p + "mlp.up_proj.weight", new long[] { spec.Intermediate, spec.Hidden }, false));
            list.Add((p + "mlp.down_proj.weight", new long[] { spec.Hidden, spec.Intermediate }, false));
        }

        list.Add(("model.norm.weight", new long[] { spec.Hidden }, true));
        if (!spec.Tied)
        {
            list.Add(("lm_head.weight", new long[] { spec.Vocab, spec.Hidden }, false));
        }

        return list;
    }

    /// <summary>
    /// Streams the weights tensor by tensor in chunks (a 1B-parameter model never sits in memory), drawing from one
    /// seeded generator in HF's tensor order, so the values depend only on the spec.
    /// </summary>
    private static void WriteWeights(string folder, TinyModelSpec spec)
    {
        var random = new Random(spec.Seed);
        var tensors = Tensors(spec);
        var isNorm = tensors.ToDictionary(t => t.Name, t => t.IsNorm, StringComparer.Ordinal);
        var specs = tensors.Select(t => new TensorSpec(t.Name, spec.Dtype, t.Shape)).ToList();
        var values = new float[WriteChunk];
        var bytes = new byte[WriteChunk * sizeof(float)];
        int elementSize = SafetensorsDtypes.ElementSize(spec.Dtype);
        string output = spec.Tied ? "model.embed_tokens.weight" : "lm_head.weight";
        long eosStart = (long)EosId(spec) * spec.Hidden, eosEnd = eosStart + spec.Hidden;
        void WriteData(TensorSpec tensor, Stream stream)
        {
            bool norm = isNorm[tensor.Name];
            bool silenceEos = spec.NoEos && tensor.Name == output;
            for (long done = 0; done < tensor.ElementCount; done += WriteChunk)
            {
                int count = (int)Math.Min(WriteChunk, tensor.ElementCount - done);
                for (int i = 0; i < count; i++)
                {
                    values[i] = norm ? 1 + (0.1f * Normal(random)) : 0.05f * Normal(random);
                    if (silenceEos && done + i >= eosStart && done + i < eosEnd)
                    {
                        values[i] = 0;
                    }
                }

                ElementConversion.FromSingle(values.AsSpan(0, count), spec.Dtype, bytes.AsSpan(0, count * elementSize));
                stream.Write(bytes, 0, count * elementSize);
            }
        }

        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (spec.Shards <= 1)
        {
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), specs, WriteData, metadata);
            return;
        }

        int perShard = (specs.Count + spec.Shards - 1) / spec.Shards;
        var weightMap = new JsonObject();
        for (int s = 0; s < spec.Shards; s++)
        {
            string file = string.Create(CultureInfo.InvariantCulture, $"model-{s + 1:00000}-of-{spec.Shards:00000}.safetensors");
            var shard = specs.Skip(s * perShard).Take(perShard).ToList();
            SafetensorsWriter.Write(Path.Combine(folder, file), shard, WriteData, metadata);
            shard.ForEach(t => weightMap[t.Name] = file);
        }

        WriteJson(Path.Combine(folder, "model.safetensors.index.json"), new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = specs.Sum(t => t.ByteLength) },
            ["weight_map"] = weightMap,
        });
    }

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    /// <summary>GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards.</summary>
    public static string[] ByteSymbols()
    {
        var symbols = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            symbols[b] = char.ConvertFromUtf32(printable ? b : next++);
        }

        return symbols;
    }

    private static void WriteTokenizer(string folder, TinyModelSpec spec)
    {
        var vocab = new JsonObject();
        string[] symbols = ByteSymbols();
        for (int b = 0; b < 256; b++)
        {
            vocab[symbols[b]] = b;
        }

        var merges = new JsonArray();
        foreach (var (left, right) in MergeList.Take(MergeCount(spec)))
        {
            vocab[left + right] = vocab.Count;
            merges.Add($"{left} {right}");
        }

        int bos = BosId(spec);
        int eos = EosId(spec);
        for (int id = eos + 1; spec.FillVocab && id < spec.Vocab; id++)
        {
            vocab[$"w{id}"] = id;
        }

        JsonObject Added(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true,
        };
        JsonObject Special(string id, int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        JsonObject Sequence(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };

        WriteJson(Path.Combine(folder, "tokenizer.json"), new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(bos, "<s>"), Added(eos, "</s>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(),
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("<s>", 0), Sequence("A", 0)),
                ["pair"] = new JsonArray(Special("<s>", 0), Sequence("A", 0), Special("<s>", 1), Sequence("B", 1)),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(bos), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = ByteLevel(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        });
        WriteJson(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = spec.MaxPositions,
            ["added_tokens_decoder"] = new JsonObject
            {
                [bos.ToString(CultureInfo.InvariantCulture)] = Added(bos, "<s>"),
                [eos.ToString(CultureInfo.InvariantCulture)] = Added(eos, "</s>"),
            },
        });
        WriteJson(Path.Combine(folder, "special_tokens_map.json"), new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = "</s>" });
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
