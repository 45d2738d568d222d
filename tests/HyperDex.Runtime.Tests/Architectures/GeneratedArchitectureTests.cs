using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Tests.Engine;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Architectures;

/// <summary>
/// Every architecture on a random checkpoint generated here (no ../shared needed), with its variant flags switched
/// on: the program compiles, and 1, 2 and 4 devices give the same logits and greedy tokens, which checks every
/// partitioning rule (fused q/k/v cut per device, KV replication, row-split biases, a q/k norm spanning devices,
/// experts split per device) against the unsplit model.
/// </summary>
public sealed class GeneratedArchitectureTests : IDisposable
{
    private static readonly int[] Prompt = [1, 40, 73, 101, 9, 200, 17, 5, 66, 150, 31, 88, 240, 12];
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-genarch-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, string> Variants => new()
    {
        { "LlamaForCausalLM", """{"attention_bias": true, "mlp_bias": true, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}}""" },
        { "MistralForCausalLM", """{"sliding_window": 6}""" },
        { "MixtralForCausalLM", """{"num_local_experts": 4, "num_experts_per_tok": 2}""" },
        { "Qwen2ForCausalLM", """{"use_sliding_window": true, "sliding_window": 6, "max_window_layers": 1}""" },
        { "Qwen3ForCausalLM", """{"head_dim": 16}""" },
        { "Qwen3MoeForCausalLM", """{"head_dim": 16, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "norm_topk_prob": true, "mlp_only_layers": [1]}""" },
        { "GemmaForCausalLM", """{"head_dim": 16}""" },
        { "Gemma2ForCausalLM", """{"head_dim": 16, "sliding_window": 6, "attn_logit_softcapping": 5.0, "final_logit_softcapping": 3.0, "query_pre_attn_scalar": 20}""" },
        { "Gemma3ForCausalLM", """{"head_dim": 16, "sliding_window": 6, "sliding_window_pattern": 2, "rope_local_base_freq": 10000.0, "rope_theta": 1000000.0}""" },
        { "PhiForCausalLM", """{"partial_rotary_factor": 0.5, "qk_layernorm": true}""" },
        { "Phi3ForCausalLM", """{"partial_rotary_factor": 0.75}""" },
        { "GPT2LMHeadModel", """{"scale_attn_by_inverse_layer_idx": true}""" },
        { "GPTBigCodeForCausalLM", """{"multi_query": true}""" },
        { "GPTBigCodeForCausalLM", """{"multi_query": false}""" },
        { "GPTJForCausalLM", """{"rotary_dim": 8}""" },
        { "GPTNeoXForCausalLM", """{"rotary_pct": 0.25, "use_parallel_residual": true}""" },
        { "GPTNeoXForCausalLM", """{"use_parallel_residual": false}""" },
        { "OPTForCausalLM", """{"ffn_dim": 96}""" },
        { "FalconForCausalLM", """{"multi_query": true, "parallel_attn": true, "bias": true}""" },
        { "FalconForCausalLM", """{"new_decoder_architecture": true, "num_kv_heads": 2}""" },
        { "FalconForCausalLM", """{"multi_query": false, "parallel_attn": false}""" },
        { "CohereForCausalLM", """{"use_qk_norm": true, "logit_scale": 0.5}""" },
        { "StableLmForCausalLM", """{"use_qkv_bias": true, "use_parallel_residual": true, "partial_rotary_factor": 0.25}""" },
        { "Starcoder2ForCausalLM", """{"sliding_window": 6}""" },
        { "OlmoForCausalLM", """{"clip_qkv": 0.5}""" },
        { "Olmo2ForCausalLM", """{}""" },
        { "GraniteForCausalLM", """{"embedding_multiplier": 3.0, "attention_multiplier": 0.2, "residual_multiplier": 0.4, "logits_scaling": 2.5}""" },
        { "ExaoneForCausalLM", """{}""" },
        { "Exaone4ForCausalLM", """{"sliding_window": 6, "sliding_window_pattern": 2}""" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void OneTwoAndFourDevicesAgree(string architecture, string overrides)
    {
        string source = Generate(architecture, overrides);
        float[]? reference = null;
        int[]? tokens = null;
        foreach (int numDevice in new[] { 1, 2, 4 })
        {
            string output = Path.Combine(_temp, $"out{numDevice}");
            ModelCompiler.Compile(new CompileOptions { SourcePath = source, OutputPath = output, NumDevice = numDevice, Dtype = HdxDtype.F32, MaxLength = 64 },
                NullReporter.Instance, CancellationToken.None);
            using var engine = HostEngine.Load(output, numDevice, new HostEngineOptions { PrefixCacheBytes = 0 });
            var (logits, generated) = Greedy(engine, 10);
            Assert.All(logits, v => Assert.True(float.IsFinite(v)));
            if (reference is null)
            {
                (reference, tokens) = (logits, generated);
                continue;
            }

            float worst = logits.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst < 1e-4, $"{architecture} on {numDevice} devices: logits differ from one device's by {worst}");
            Assert.Equal(tokens, generated);
        }
    }

    /// <summary>The prompt's last logits, then greedy tokens.</summary>
    private static (float[], int[]) Greedy(HostEngine engine, int steps) =>
        (EngineTestHelpers.Run(engine, Prompt, [])[0], EngineTestHelpers.Greedy(engine, Prompt, steps - 1).ToArray());

    /// <summary>
    /// A model folder with the generated tokenizer, a small config of the architecture plus <paramref name="overrides"/>,
    /// and random weights for exactly the tensors its descriptor reads (N(0, 0.15); norm weights around 1).
    /// </summary>
    private string Generate(string architecture, string overrides)
    {
        string folder = Path.Combine(_temp, "source");
        TinyModel.Write(folder, new TinyModelSpec());
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(architecture),
            ["hidden_size"] = 64, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["num_hidden_layers"] = 2,
            ["intermediate_size"] = 96, ["vocab_size"] = 300, ["max_position_embeddings"] = 128, ["tie_word_embeddings"] = false,
            ["bos_token_id"] = TinyModel.BosId(new TinyModelSpec()), ["eos_token_id"] = TinyModel.EosId(new TinyModelSpec()),
        };
        foreach (var (key, value) in JsonNode.Parse(overrides)!.AsObject())
        {
            config[key] = value?.DeepClone();
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.Delete(Path.Combine(folder, "model.safetensors")); // TinyModel's Llama weights; this architecture's are written below
        var shape = SupportedArchitectures.Resolve(HfModelConfig.Parse(Encoding.UTF8.GetBytes(config.ToJsonString()), "config.json"));
        var sources = shape.Tensors.DistinctBy(t => t.Source).ToList();
        var random = new Random(architecture.GetHashCode(StringComparison.Ordinal) ^ overrides.Length);
        var specs = sources.Select(t => new TensorSpec(t.Source, HdxDtype.F32, t.SourceShape)).ToList();
        var byName = sources.ToDictionary(t => t.Source);
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), specs, (spec, stream) =>
        {
            bool norm = byName[spec.Name].Role == TensorRole.Norm;
            var values = new float[spec.ElementCount];
            for (int i = 0; i < values.Length; i++)
            {
                double gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                values[i] = (float)((norm && !spec.Name.Contains("bias", StringComparison.Ordinal) ? 1 : 0) + 0.15 * gaussian);
            }

            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }, null, CancellationToken.None);
        return folder;
    }
}
