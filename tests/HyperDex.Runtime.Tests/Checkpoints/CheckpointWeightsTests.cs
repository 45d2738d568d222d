using System.Text.Json.Nodes;
using HyperDex.Runtime.Checkpoints;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Checkpoints;

public sealed class CheckpointWeightsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Directory.CreateTempSubdirectory("hdx-ckpt-").FullName, "model");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    private static string ErrorOf(string folder) => Assert.Throws<HdxException>(() => CheckpointWeights.Open(folder).Dispose()).ErrorId;

    private JsonNode Index() => JsonNode.Parse(File.ReadAllText(Path.Combine(_folder, CheckpointWeights.IndexFile)))!;

    private void SaveIndex(JsonNode index) => File.WriteAllText(Path.Combine(_folder, CheckpointWeights.IndexFile), index.ToJsonString());

    [Fact]
    public void ResolvesEveryTensorOfAShardedCheckpointToItsShard()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 3 });
        using var weights = CheckpointWeights.Open(_folder);
        Assert.Equal(TinyModel.Tensors(new TinyModelSpec()).Select(t => t.Name).Order(), weights.Tensors.Select(t => t.Name).Order());
        Assert.Equal(new[] { CheckpointWeights.IndexFile, "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" },
            weights.FileNames);
        Assert.EndsWith("model-00003-of-00003.safetensors", weights.FileOf("lm_head.weight").Path, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportsAMissingShard()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 2 });
        File.Delete(Path.Combine(_folder, "model-00002-of-00002.safetensors"));
        Assert.Equal("CheckpointShardMissing", ErrorOf(_folder));
    }

    [Fact]
    public void ReportsAnIndexThatPlacesATensorInTheWrongShard()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 2 });
        var index = Index();
        index["weight_map"]!["lm_head.weight"] = "model-00001-of-00002.safetensors";
        SaveIndex(index);
        Assert.Equal("CheckpointIndexMismatch", ErrorOf(_folder));
    }

    [Fact]
    public void RejectsAShardNameThatLeavesTheFolder()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 2 });
        var index = Index();
        index["weight_map"]!["lm_head.weight"] = "../model-00002-of-00002.safetensors";
        SaveIndex(index);
        Assert.Equal("CheckpointShardMissing", ErrorOf(_folder));
    }

    [Fact]
    public void ReportsAMalformedIndex()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 2 });
        File.WriteAllText(Path.Combine(_folder, CheckpointWeights.IndexFile), "{\"weight_map\": [1]}");
        Assert.Equal("CheckpointIndexInvalid", ErrorOf(_folder));
    }

    [Fact]
    public void ReportsTheSameTensorInTwoShards()
    {
        TinyModel.Write(_folder, new TinyModelSpec { Shards = 2 });
        File.Delete(Path.Combine(_folder, CheckpointWeights.IndexFile));
        File.Copy(Path.Combine(_folder, "model-00001-of-00002.safetensors"), Path.Combine(_folder, CheckpointWeights.SingleFile));
        using (var single = CheckpointWeights.Open(_folder))
        {
            Assert.False(single.Contains("lm_head.weight")); // model.safetensors wins when there is no index
        }

        File.Delete(Path.Combine(_folder, CheckpointWeights.SingleFile));
        File.Copy(Path.Combine(_folder, "model-00001-of-00002.safetensors"), Path.Combine(_folder, "copy.safetensors"));
        SaveIndex(new JsonObject { ["weight_map"] = new JsonObject { ["a"] = "model-00001-of-00002.safetensors", ["b"] = "copy.safetensors" } });
        Assert.Equal("CheckpointDuplicateTensor", ErrorOf(_folder));
    }

    [Fact]
    public void TellsPyTorchCheckpointsFromMissingWeights()
    {
        Directory.CreateDirectory(_folder);
        Assert.Equal("CheckpointWeightsNotFound", ErrorOf(_folder));
        File.WriteAllText(Path.Combine(_folder, "pytorch_model.bin"), "pickle");
        Assert.Equal("CheckpointFormatNotSupported", ErrorOf(_folder));
    }
}
