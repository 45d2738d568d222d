using System.Globalization;
using System.Text.Json;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;

namespace HyperDex.TestTools.Bench;

/// <summary>
/// Exports a Llama-shaped HF checkpoint folder (config.json + *.safetensors, as <see cref="TinyModel"/> writes the
/// benchmark models) to a GGUF file llama.cpp loads, the way llama.cpp's convert_hf_to_gguf.py does for
/// LlamaForCausalLM: its tensor names (token_embd, blk.N.attn_q, ..., output_norm, output), 1-D norms in F32, matrices
/// in F16 or BF16, and q_proj/k_proj rows permuted per head from HF's rotate-half order to the interleaved pairs that
/// ggml's normal RoPE mode rotates (LlamaModel.permute). The vocabulary is a synthetic SentencePiece one of the model's
/// size (256 byte pieces, &lt;s&gt;/&lt;/s&gt; at the checkpoint's BOS/EOS ids, placeholders elsewhere): the benchmark
/// feeds token ids, never text, so only the ids and the vocabulary size must agree with the checkpoint.
/// </summary>
public static class GgufExport
{
    public static void Write(string checkpoint, string output, GgmlType matrixType)
    {
        if (matrixType == GgmlType.F32)
        {
            throw new ArgumentException("export F16 or BF16 (Q8_0 comes from llama.cpp's quantizer)");
        }

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")));
        var c = config.RootElement;
        int hidden = c.GetProperty("hidden_size").GetInt32();
        int heads = c.GetProperty("num_attention_heads").GetInt32();
        int kvHeads = c.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads;
        int layers = c.GetProperty("num_hidden_layers").GetInt32();
        int vocab = c.GetProperty("vocab_size").GetInt32();
        int headDim = c.TryGetProperty("head_dim", out var hd) ? hd.GetInt32() : hidden / heads;
        if (c.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
        {
            throw new NotSupportedException("rope_scaling is not exported (the benchmark models have none)");
        }

        var files = Directory.GetFiles(checkpoint, "*.safetensors").Order(StringComparer.Ordinal).Select(SafetensorsFile.Open).ToList();
        try
        {
            var source = files.SelectMany(f => f.Tensors.Values.Select(t => (File: f, Tensor: t))).ToDictionary(x => x.Tensor.Name, StringComparer.Ordinal);
            var tensors = new List<GgufTensor>();
            void Add(string hfName, string ggufName, int permuteHeads = 0)
            {
                var (file, tensor) = source[hfName];
                var type = tensor.Shape.Count == 1 ? GgmlType.F32 : matrixType;
                long[] dims = tensor.Shape.Reverse().ToArray();
                tensors.Add(new GgufTensor(ggufName, type, dims, stream => WriteRows(file, tensor, type, permuteHeads, stream)));
            }

            Add("model.embed_tokens.weight", "token_embd.weight");
            for (int l = 0; l < layers; l++)
            {
                string p = $"model.layers.{l}.";
                string b = string.Create(CultureInfo.InvariantCulture, $"blk.{l}.");
                Add(p + "input_layernorm.weight", b + "attn_norm.weight");
                Add(p + "self_attn.q_proj.weight", b + "attn_q.weight", heads);
                Add(p + "self_attn.k_proj.weight", b + "attn_k.weight", kvHeads);
                Add(p + "self_attn.v_proj.weight", b + "attn_v.weight");
                Add(p + "self_attn.o_proj.weight", b + "attn_output.weight");
                Add(p + "post_attention_layernorm.weight", b + "ffn_norm.weight");
                Add(p + "mlp.gate_proj.weight", b + "ffn_gate.weight");
                Add(p + "mlp.up_proj.weight", b + "ffn_up.weight");
                Add(p + "mlp.down_proj.weight", b + "ffn_down.weight");
            }

            Add("model.norm.weight", "output_norm.weight");
            if (source.ContainsKey("lm_head.weight"))
            {
                Add("lm_head.weight", "output.weight");
            }

            var writer = new GgufWriter();
            writer.Add("general.architecture", "llama");
            writer.Add("general.name", Path.GetFileName(Path.TrimEndingDirectorySeparator(checkpoint)));
            writer.Add("general.alignment", 32u);
            writer.Add("general.file_type", matrixType == GgmlType.F16 ? 1u : 32u); // LLAMA_FTYPE_MOSTLY_F16 / _BF16
            writer.Add("llama.vocab_size", (uint)vocab);
            writer.Add("llama.context_length", (uint)c.GetProperty("max_position_embeddings").GetInt32());
            writer.Add("llama.embedding_length", (uint)hidden);
            writer.Add("llama.block_count", (uint)layers);
            writer.Add("llama.feed_forward_length", (uint)c.GetProperty("intermediate_size").GetInt32());
            writer.Add("llama.rope.dimension_count", (uint)headDim);
            writer.Add("llama.attention.head_count", (uint)heads);
            writer.Add("llama.attention.head_count_kv", (uint)kvHeads);
            writer.Add("llama.attention.layer_norm_rms_epsilon", (float)c.GetProperty("rms_norm_eps").GetDouble());
            writer.Add("llama.rope.freq_base", c.TryGetProperty("rope_theta", out var theta) ? (float)theta.GetDouble() : 10000f);
            AddVocabulary(writer, vocab, c.GetProperty("bos_token_id").GetInt32(), c.GetProperty("eos_token_id").GetInt32());
            writer.Write(output, tensors);
        }
        finally
        {
            files.ForEach(f => f.Dispose());
        }
    }

    /// <summary>
    /// Source row of output row <paramref name="row"/> under convert_hf_to_gguf's permute: within each head the first
    /// and second halves of HF's rows are interleaved, (i, j) → row 2i + j taking HF row j·headDim/2 + i.
    /// </summary>
    public static long PermutedSourceRow(long row, long headDim)
    {
        long head = row / headDim, k = row % headDim;
        return (head * headDim) + ((k % 2) * (headDim / 2)) + (k / 2);
    }

    private static void WriteRows(SafetensorsFile file, SafetensorsTensor tensor, GgmlType type, int permuteHeads, Stream stream)
    {
        long rows = tensor.Rows, columns = tensor.Columns;
        long headDim = permuteHeads > 0 ? rows / permuteHeads : 0;
        var values = new float[columns];
        var bytes = new byte[columns * (type == GgmlType.F32 ? 4 : 2)];
        var dtype = type switch { GgmlType.F32 => HdxDtype.F32, GgmlType.F16 => HdxDtype.F16, _ => HdxDtype.BF16 };
        for (long r = 0; r < rows; r++)
        {
            long sourceRow = permuteHeads > 0 ? PermutedSourceRow(r, headDim) : r;
            file.ReadSingles(tensor, sourceRow * columns, values);
            ElementConversion.FromSingle(values, dtype, bytes);
            stream.Write(bytes);
        }
    }

    /// <summary>tokenizer.ggml.* of a SentencePiece ("llama") vocabulary with <paramref name="size"/> unique pieces.</summary>
    private static void AddVocabulary(GgufWriter writer, int size, int bos, int eos)
    {
        const int Normal = 1, Control = 3, Byte = 6; // llama_token_type
        var tokens = new string[size];
        var types = new int[size];
        for (int id = 0; id < size; id++)
        {
            (tokens[id], types[id]) = id switch
            {
                _ when id == bos => ("<s>", Control),
                _ when id == eos => ("</s>", Control),
                < 256 => (string.Create(CultureInfo.InvariantCulture, $"<0x{id:X2}>"), Byte),
                _ => (string.Create(CultureInfo.InvariantCulture, $"▁t{id}"), Normal),
            };
        }

        writer.Add("tokenizer.ggml.model", "llama");
        writer.Add("tokenizer.ggml.tokens", tokens);
        writer.Add("tokenizer.ggml.scores", new float[size]);
        writer.Add("tokenizer.ggml.token_type", types);
        writer.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        writer.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        writer.Add("tokenizer.ggml.add_bos_token", false);
        writer.Add("tokenizer.ggml.add_eos_token", false);
    }
}
