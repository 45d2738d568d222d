using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>NaN or Inf weights stop every dtype's compile with WeightNotFinite naming the tensor (bf16 used to compile and generate empty text).</summary>
public sealed class NonFiniteWeightTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-nan-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(HdxDtype.BF16, "model.layers.1.mlp.up_proj.weight", "layers.1.mlp.up", float.NaN)]
    [InlineData(HdxDtype.BF16, "model.layers.0.self_attn.q_proj.weight", "layers.0.attn.q", float.PositiveInfinity)]
    [InlineData(HdxDtype.F32, "model.layers.0.mlp.down_proj.weight", "layers.0.mlp.down", float.NegativeInfinity)]
    [InlineData(HdxDtype.F16, "model.embed_tokens.weight", "embed", float.NaN)]
    [InlineData(HdxDtype.Q8, "model.layers.0.mlp.gate_proj.weight", "layers.0.mlp.gate", float.NaN)]
    [InlineData(HdxDtype.BF16, "model.norm.weight", "final_norm", float.NaN)]
    [InlineData(HdxDtype.F32, "model.layers.1.input_layernorm.weight", "layers.1.attn_norm", float.PositiveInfinity)]
    public void NonFiniteWeightsAreRefusedNamingTheTensor(HdxDtype dtype, string tensor, string named, float value)
    {
        string model = Path.Combine(_temp, "model");
        TinyModel.Write(model, new TinyModelSpec());
        CheckpointBytes.Poke(model, tensor, 4 * 37, BitConverter.GetBytes(value));
        var options = new CompileOptions { SourcePath = model, OutputPath = Path.Combine(_temp, "out"), Dtype = dtype };

        var error = Assert.Throws<HdxException>(() => ModelCompiler.Compile(options, NullReporter.Instance, CancellationToken.None));
        Assert.Equal("WeightNotFinite", error.ErrorId);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.OutputPath));
    }
}
