using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Hub;
using Xunit;

namespace HyperDex.Runtime.Tests.Hub;

public class HubFileSelectionTests
{
    private static readonly HubRepoId Repo = HubRepoId.Parse("org/model");

    [Fact]
    public void PrefersSafetensorsAndSkipsOtherFormats()
    {
        string[] listing =
        [
            ".gitattributes", "README.md", "config.json", "generation_config.json", "model.safetensors", "pytorch_model.bin",
            "tf_model.h5", "flax_model.msgpack", "onnx/model.onnx", "model.gguf", "original/consolidated.00.pth",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        ];

        Assert.Equal(
            ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"],
            HubFileSelection.Select(listing, Repo));
    }

    [Fact]
    public void TakesTheIndexAndEveryShardOfAShardedCheckpoint()
    {
        string[] listing =
        [
            "config.json", "model.safetensors.index.json", "model-00002-of-00002.safetensors", "model-00001-of-00002.safetensors",
            "consolidated.safetensors", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "vocab.json", "merges.txt",
        ];

        Assert.Equal(
            ["config.json", "vocab.json", "merges.txt", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
            HubFileSelection.Select(listing, Repo));
    }

    [Fact]
    public void FallsBackToPytorchWeightsWithoutSafetensors()
    {
        Assert.Equal(["config.json", "tokenizer.model", "pytorch_model.bin"],
            HubFileSelection.Select(["config.json", "pytorch_model.bin", "tokenizer.model", "tf_model.h5"], Repo));
    }

    [Fact]
    public void ARepositoryWithOnlyOtherFormatsNamesWhatItFound()
    {
        var error = Assert.Throws<HdxException>(() => HubFileSelection.Select(["config.json", "model.gguf", "onnx/model.onnx"], Repo));

        Assert.Equal("HubNoSupportedWeights", error.ErrorId);
        Assert.Contains("model.gguf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARepositoryWithoutConfigIsNotATransformersModel()
    {
        var error = Assert.Throws<HdxException>(() => HubFileSelection.Select(["model.gguf"], Repo));

        Assert.Equal("HubNotATransformersModel", error.ErrorId);
    }
}
