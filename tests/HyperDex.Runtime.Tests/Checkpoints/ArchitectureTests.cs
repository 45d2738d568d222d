using System.Text;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

public sealed class ArchitectureTests
{
    internal static JsonObject Config(string architecture = "LlamaForCausalLM") => new()
    {
        ["architectures"] = new JsonArray(architecture),
        ["hidden_size"] = 64,
        ["intermediate_size"] = 128,
        ["num_hidden_layers"] = 2,
        ["num_attention_heads"] = 4,
        ["num_key_value_heads"] = 2,
        ["vocab_size"] = 300,
        ["max_position_embeddings"] = 256,
    };

    internal static ModelShape Resolve(JsonObject config) =>
        SupportedArchitectures.Resolve(HfModelConfig.Parse(Encoding.UTF8.GetBytes(config.ToJsonString()), "config.json"));

    private static string ErrorOf(JsonObject config) => Assert.Throws<HdxException>(() => Resolve(config)).ErrorId;

    [Fact]
    public void ResolvesTheLlamaTensorsWithHfDefaults()
    {
        var shape = Resolve(Config());
        Assert.Equal((16, 1e-6, 10000.0, false, false), (shape.HeadDim, shape.Eps, shape.Block.Layers[0].Rope!.Theta, shape.Tied, shape.Block.QkvBias));
        Assert.Equal(3 + (2 * 9), shape.Tensors.Count);
        var k = shape.Tensors.Single(t => t.Canonical == "layers.1.attn.k");
        Assert.Equal(("model.layers.1.self_attn.k_proj.weight", 32L, 64L, 0, "kvDim"), (k.Source, k.Shape[0], k.Shape[1], k.SplitAxis, k.SplitDimension));
        Assert.Equal(1, shape.Tensors.Single(t => t.Canonical == "layers.0.mlp.down").SplitAxis);
        Assert.Equal((300 * 64 * 2) + (2 * ((2 * 64) + (64 * 64 * 2) + (32 * 64 * 2) + (3 * 128 * 64))) + 64, shape.ParameterCount);
    }

    [Fact]
    public void TiedEmbeddingsDropLmHead()
    {
        var config = Config();
        config["tie_word_embeddings"] = true;
        Assert.DoesNotContain(Resolve(config).Tensors, t => t.Canonical == "lm_head");
    }

    [Fact]
    public void Qwen2AlwaysHasQkvBiasAndLlamaOnlyWithAttentionBias()
    {
        Assert.Equal(3 * 2, Resolve(Config("Qwen2ForCausalLM")).Tensors.Count(t => t.Role == TensorRole.Bias));
        var llama = Config();
        llama["attention_bias"] = true;
        Assert.Contains(Resolve(llama).Tensors, t => t.Source == "model.layers.0.self_attn.v_proj.bias");
        Assert.DoesNotContain(Resolve(Config("MistralForCausalLM")).Tensors, t => t.Role == TensorRole.Bias);
    }

    [Fact]
    public void ReadsRopeScalingAndAnExplicitHeadDim()
    {
        var config = Config();
        config["head_dim"] = 32;
        config["rope_theta"] = 500000.0;
        config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192 };
        var shape = Resolve(config);
        Assert.Equal(new RopeSpec(500000.0, 32, "llama3", 8, 1, 4, 8192), shape.Block.Layers[0].Rope);
        Assert.Equal(new long[] { 128, 64 }, shape.Tensors.Single(t => t.Canonical == "layers.0.attn.q").Shape);
        config["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 2.0 };
        Assert.Equal(("linear", 2.0), (Resolve(config).Block.Layers[1].Rope!.Scaling, Resolve(config).Block.Layers[1].Rope!.Factor));
    }

    [Fact]
    public void SlidingWindowAppliesToMistralAndToQwen2OnlyWhenEnabled()
    {
        var mistral = Config("MistralForCausalLM");
        mistral["sliding_window"] = 128;
        Assert.Equal(128, Resolve(mistral).SlidingWindow);
        var qwen = Config("Qwen2ForCausalLM");
        qwen["sliding_window"] = 128;
        qwen["use_sliding_window"] = false;
        Assert.Null(Resolve(qwen).SlidingWindow);
    }

    [Fact]
    public void NamesAnUnsupportedArchitectureAndListsTheSupportedOnes()
    {
        var error = Assert.Throws<HdxException>(() => Resolve(Config("BloomForCausalLM")));
        Assert.Equal(("ArchitectureNotSupported", HdxErrorKind.NotSupported), (error.ErrorId, error.Kind));
        Assert.Contains("'BloomForCausalLM'", error.Message, StringComparison.Ordinal);
        Assert.All(SupportedArchitectures.All, d => Assert.Contains(d.Name, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void RejectsWhatTheLlamaProgramCannotRun()
    {
        var act = Config();
        act["hidden_act"] = "mish";
        Assert.Equal("ActivationNotSupported", ErrorOf(act));
        var yarn = Config();
        yarn["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 };
        Assert.Equal("RopeScalingNotSupported", ErrorOf(yarn));
        var heads = Config();
        heads["num_key_value_heads"] = 3;
        Assert.Equal("ConfigInvalid", ErrorOf(heads));
        var missing = Config();
        missing.Remove("hidden_size");
        Assert.Equal("ConfigInvalid", ErrorOf(missing));
        var wrongType = Config();
        wrongType["vocab_size"] = "300";
        Assert.Equal("ConfigInvalid", Assert.Throws<HdxException>(() => Resolve(wrongType)).ErrorId);
    }

    [Fact]
    public void ReadsEosIdListsAndGenerationDefaults()
    {
        string folder = Directory.CreateTempSubdirectory("hdx-gen-").FullName;
        try
        {
            var config = Config();
            config["eos_token_id"] = new JsonArray(7, 9);
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
            var parsed = HfModelConfig.Load(folder);
            Assert.Equal(new[] { 7, 9 }, parsed.EosTokenIds);
            Assert.Equal(new[] { 7, 9 }, GenerationConfig.Load(folder, parsed).EosTokenIds);
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), "{\"eos_token_id\": 3, \"temperature\": 0.6, \"top_p\": 0.9, \"do_sample\": true}");
            var generation = GenerationConfig.Load(folder, parsed);
            Assert.Equal(new[] { 3 }, generation.EosTokenIds);
            Assert.Equal((0.6, 0.9, true), (generation.Temperature, generation.TopP, generation.DoSample));
            File.WriteAllText(Path.Combine(folder, "config.json"), "{not json");
            Assert.Equal("ConfigInvalid", Assert.Throws<HdxException>(() => HfModelConfig.Load(folder)).ErrorId);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>The two inputs that gave wrong text without an error before the descriptors, and the refusals.</summary>
public sealed class ArchitectureRegressionTests
{
    private static ModelShape Resolve(JsonObject config) => ArchitectureTests.Resolve(config);

    private static JsonObject Config(string architecture = "LlamaForCausalLM") => ArchitectureTests.Config(architecture);

    [Fact]
    public void LlamaAttentionBiasIncludesTheOutputBiasAndMlpBiasTheMlpBiases()
    {
        var config = Config();
        config["attention_bias"] = true;
        config["mlp_bias"] = true;
        var sources = Resolve(config).Tensors.Select(t => t.Source).ToHashSet();
        foreach (string name in new[] { "self_attn.q_proj.bias", "self_attn.o_proj.bias", "mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias" })
        {
            Assert.Contains("model.layers.1." + name, sources);
        }
    }

    [Fact]
    public void ReadsTransformers5RopeParametersAndTheirPartialFactor()
    {
        var config = Config("StableLmForCausalLM");
        config["rope_parameters"] = new JsonObject { ["rope_theta"] = 1000000.0, ["rope_type"] = "default", ["partial_rotary_factor"] = 0.25 };
        var rope = Resolve(config).Block.Layers[0].Rope!;
        Assert.Equal((1000000.0, 4), (rope.Theta, rope.RotaryDim));
        var gemma3 = Config("Gemma3ForCausalLM");
        gemma3["head_dim"] = 16;
        gemma3["layer_types"] = new JsonArray("sliding_attention", "full_attention");
        gemma3["sliding_window"] = 8;
        gemma3["rope_parameters"] = new JsonObject
        {
            ["sliding_attention"] = new JsonObject { ["rope_theta"] = 10000.0, ["rope_type"] = "default" },
            ["full_attention"] = new JsonObject { ["rope_theta"] = 1000000.0, ["rope_type"] = "linear", ["factor"] = 8.0 },
        };
        var layers = Resolve(gemma3).Block.Layers;
        Assert.Equal((8, 10000.0, "none"), (layers[0].Window, layers[0].Rope!.Theta, layers[0].Rope!.Scaling));
        Assert.Equal((0, 1000000.0, "linear", 8.0), (layers[1].Window, layers[1].Rope!.Theta, layers[1].Rope!.Scaling, layers[1].Rope!.Factor));
    }

    [Fact]
    public void ReadsTransformers4KeysAndAliases()
    {
        var gpt2 = new JsonObject { ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["n_embd"] = 64, ["n_layer"] = 2, ["n_head"] = 4, ["n_inner"] = null, ["vocab_size"] = 300, ["n_positions"] = 128 };
        var shape = Resolve(gpt2);
        Assert.Equal((64, 2, 4, 256, 128, 1e-5), (shape.Hidden, shape.Layers, shape.Heads, shape.Intermediate, shape.MaxPositions, shape.Eps));
        var neox = Config("GPTNeoXForCausalLM");
        neox["rotary_pct"] = 0.5;
        neox["rope_theta"] = 20000.0;
        Assert.Equal((20000.0, 8), (Resolve(neox).Block.Layers[0].Rope!.Theta, Resolve(neox).Block.Layers[0].Rope!.RotaryDim));
    }

    [Theory]
    [InlineData("FalconForCausalLM", "alibi", "ConfigFeatureNotSupported")]
    [InlineData("OPTForCausalLM", "do_layer_norm_before", "ConfigFeatureNotSupported")]
    [InlineData("StableLmForCausalLM", "qk_layernorm", "ConfigFeatureNotSupported")]
    [InlineData("GemmaForCausalLM", "use_bidirectional_attention", "ConfigFeatureNotSupported")]
    public void RefusesConfigFeaturesItDoesNotImplement(string architecture, string flag, string errorId)
    {
        var config = Config(architecture);
        config[flag] = flag != "do_layer_norm_before";
        Assert.Equal(errorId, Assert.Throws<HdxException>(() => Resolve(config)).ErrorId);
    }

    [Theory]
    [InlineData("yarn")]
    [InlineData("dynamic")]
    [InlineData("longrope")]
    public void RefusesRopeScalingItDoesNotImplementInEitherConfigForm(string type)
    {
        var v4 = Config();
        v4["rope_scaling"] = new JsonObject { ["rope_type"] = type, ["factor"] = 4.0 };
        Assert.Equal("RopeScalingNotSupported", Assert.Throws<HdxException>(() => Resolve(v4)).ErrorId);
        var v5 = Config();
        v5["rope_parameters"] = new JsonObject { ["rope_type"] = type, ["factor"] = 4.0, ["rope_theta"] = 10000.0 };
        Assert.Equal("RopeScalingNotSupported", Assert.Throws<HdxException>(() => Resolve(v5)).ErrorId);
    }

    [Fact]
    public void MultiQueryModelsReplicateTheirKvHeadAcrossDevices()
    {
        var shape = Resolve(Config("GPTBigCodeForCausalLM").Let(c => c["multi_query"] = true));
        Assert.Equal(1, shape.KvHeads);
        HyperDex.Runtime.Compiler.Partition.Check(shape, 4);
        Assert.Equal((0L, 16L), HyperDex.Runtime.Compiler.Partition.Range("kvDim", 16, shape, 4, 3));
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Let(this JsonObject config, Action<JsonObject> change)
    {
        change(config);
        return config;
    }
}
