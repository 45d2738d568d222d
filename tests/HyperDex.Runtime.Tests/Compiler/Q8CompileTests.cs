using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Compiler;
using HyperDex.Runtime.Diagnostics;
using HyperDex.TestTools;
using Xunit;

namespace HyperDex.Runtime.Tests.Compiler;

/// <summary>int8 compiles: Q8 blocks (projections and the embedding) where the input width allows, dequantizing to within half a step of the source.</summary>
public sealed class Q8CompileTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hdx-q8-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    /// <summary>
    /// Dequantizes a Q8 tensor of the image, positions worked out here from the format: tiles of 4 rows, groups of
    /// 128 columns holding each tile row's 128 int8 in turn, then their 16 fp32 scales [row][block].
    /// </summary>
    private static float[] Dequantize(byte[] image, ParamTensor tensor)
    {
        int rows = tensor.Shape[0];
        int columns = tensor.Shape[1];
        int groups = (columns + 127) / 128;
        var values = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int block = 0; block < columns / 32; block++)
            {
                long group = tensor.Offset + (r / 4 * groups * 576L) + (block / 4 * 576L);
                float scale = BitConverter.ToSingle(image, (int)(group + 512 + (r % 4 * 16) + (block % 4 * 4)));
                for (int i = 0; i < 32; i++)
                {
                    values[(r * columns) + (block * 32) + i] = (sbyte)image[group + (r % 4 * 128) + (block % 4 * 32) + i] * scale;
                }
            }
        }

        return values;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void QuantizesProjectionsToWithinHalfAStep(int numDevice)
    {
        string model = Path.Combine(_temp, "src", "model");
        TinyModel.Write(model, new TinyModelSpec { Layers = 1, Intermediate = 128 });
        var result = ModelCompiler.Compile(new CompileOptions { SourcePath = model, OutputPath = Path.Combine(_temp, "out"), NumDevice = numDevice, Dtype = HdxDtype.Q8 },
            NullReporter.Instance, CancellationToken.None);
        Assert.Equal(HdxDtype.Q8, result.Manifest.Dtype);
        Assert.Equal(HdxDtype.F16, ConvertedCheckpoint.Load(result.Path).Dtype);

        var source = new ReferenceSafetensors(Path.Combine(model, "model.safetensors"));
        var index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(result.Path, numDevice, 0));
        var image = File.ReadAllBytes(CompiledLayout.ParamImage(result.Path, numDevice, 0));
        Assert.Equal(HdxDtype.Q8, index.Tensors.Single(t => t.Name == "embed").Dtype); // a tied head reads it
        Assert.Equal(HdxDtype.F32, index.Tensors.Single(t => t.Name == "layers.0.attn_norm").Dtype);

        var gate = index.Tensors.Single(t => t.Name == "layers.0.mlp.gate");
        Assert.Equal(HdxDtype.Q8, gate.Dtype);
        Assert.Equal((gate.Shape[0] + 3) / 4 * ((gate.Shape[1] + 127) / 128) * 576L, gate.Length);
        float[] expected = source.Floats("model.layers.0.mlp.gate_proj.weight");
        float[] actual = Dequantize(image, gate);
        for (int i = 0; i < actual.Length; i++)
        {
            float blockMax = expected.Skip(i / 32 * 32).Take(32).Max(Math.Abs);
            Assert.True(Math.Abs(actual[i] - expected[i]) <= (blockMax / 127 * 0.5f) + (blockMax * 1e-3f), $"element {i}: {actual[i]} vs {expected[i]}");
        }

        var down = index.Tensors.Single(t => t.Name == "layers.0.mlp.down");
        Assert.Equal((HdxDtype.Q8, 128 / numDevice), (down.Dtype, down.Shape[1]));
        Assert.All(index.Tensors, t => Assert.Equal(0, t.Offset % 64));
    }

    [Fact]
    public void KeepsOddWidthsOfStoriesInF16()
    {
        string stories = StoriesCompileTests.WriteStoriesShaped(Path.Combine(_temp, "src", "stories"));
        var result = ModelCompiler.Compile(new CompileOptions { SourcePath = stories, OutputPath = Path.Combine(_temp, "stories"), Dtype = HdxDtype.Q8 },
            NullReporter.Instance, CancellationToken.None);
        var index = CompiledJson.Read<ParamIndex>(CompiledLayout.ParamIndex(result.Path, 1, 0));
        Assert.Equal(HdxDtype.F16, index.Tensors.Single(t => t.Name == "layers.0.mlp.down").Dtype); // 172 inputs
        Assert.Equal(HdxDtype.Q8, index.Tensors.Single(t => t.Name == "layers.0.mlp.up").Dtype);
        Assert.DoesNotContain(index.Tensors, t => t.Name == "lm_head"); // tied on one device: the logits read embed
        Assert.Equal(new FileInfo(CompiledLayout.ParamImage(result.Path, 1, 0)).Length, index.TotalBytes);
    }

    [Fact]
    public void RoundsToTheNearestStepAndKeepsZeroBlocks()
    {
        var block = new float[32];
        block[0] = 127;
        block[1] = -63.5f;
        block[2] = 0.4f;
        var values = new sbyte[32];
        Assert.Equal(1f, Q8Blocks.Quantize(block, values));
        Assert.Equal(new sbyte[] { 127, -64, 0 }, values.Take(3));
        Assert.Equal(0f, Q8Blocks.Quantize(new float[32], values));
        Assert.All(values, v => Assert.Equal(0, v));
    }
}
