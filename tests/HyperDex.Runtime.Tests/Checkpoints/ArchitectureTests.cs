using System.Text;
using System.Text.Json.Nodes;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

public sealed class ArchitectureTests
{
    private static JsonObject Config(string architecture = "LlamaForCausalLM") => new()
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

    private static ModelShape Resolve(JsonObject config) =>
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
