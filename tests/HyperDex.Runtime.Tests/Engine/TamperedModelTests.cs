using System.Text.Json.Nodes;
using HyperDex.Runtime.Compiled;
using HyperDex.Runtime.Diagnostics;
using HyperDex.Runtime.Engine;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Engine;

/// <summary>A compiled folder is untrusted input: every damage found at load with an ErrorId, never a crash or garbage.</summary>
public sealed class TamperedModelTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly string _model;

    public TamperedModelTests() => _model = CompiledFixture.CopyTo(_temp.Sub("model"));

    public void Dispose() => _temp.Dispose();

    private string Index(int n = 1, int d = 0) => CompiledLayout.ParamIndex(_model, n, d);

    private string Program(int n = 1, int d = 0) => CompiledLayout.Program(_model, n, d);

    private string LoadFails(int n = 1, HostEngineOptions? options = null)
    {
        var error = Assert.Throws<HdxException>(() => HostEngine.Load(_model, n, options).Dispose());
        return error.ErrorId;
    }

    [Theory]
    [InlineData(-(1L << 40))] // aborted the process (AccessViolation)
    [InlineData(-65536L)] // read memory outside the mapping
    [InlineData(long.MaxValue - 63)] // Offset + Length overflowed past the size check
    [InlineData(64L << 30)]
    public void ATensorOffsetOutsideTheImageIsRefused(long offset)
    {
        CompiledFixture.EditJson(Index(), json => json["tensors"]![3]!["offset"] = offset);
        Assert.Equal("CompiledModelCorrupt", LoadFails()); // the recorded checksum no longer matches
        CompiledFixture.Reseal(_model);
        Assert.Equal("CompiledModelInvalid", LoadFails()); // and with the checksum rewritten, the bounds check holds
    }

    [Theory]
    [InlineData("length", -64L)]
    [InlineData("dtype", 9L)]
    [InlineData("totalBytes", -1L)]
    public void AnInconsistentIndexIsRefused(string field, long value)
    {
        CompiledFixture.EditJson(Index(), json =>
        {
            if (field == "totalBytes")
            {
                json["totalBytes"] = value;
            }
            else
            {
                json["tensors"]![2]![field] = value;
            }
        });
        CompiledFixture.Reseal(_model);
        Assert.Equal("CompiledModelInvalid", LoadFails());
    }

    [Fact]
    public void AVocabularySliceThatOverflowsIntIsRefused()
    {
        CompiledFixture.EditJson(Program(), json =>
        {
            var last = json["instructions"]!.AsArray()[^1]!;
            last["attributes"]!["vocabStart"] = 2147483600;
        });
        CompiledFixture.Reseal(_model);
        Assert.Equal("CompiledModelInvalid", LoadFails());
    }

    [Theory]
    [InlineData("buffer", -1L)]
    [InlineData("buffer", 2147483647L)]
    [InlineData("kvBlockSize", 1L << 30)]
    [InlineData("maxLength", 2147483646L)]
    [InlineData("vocabSize", 2147483647L)]
    [InlineData("kvHeads", 1L << 20)]
    public void ProgramDimensionsOutOfBoundsAreRefusedBeforeAllocating(string field, long value)
    {
        CompiledFixture.EditJson(Program(), json =>
        {
            switch (field)
            {
                case "buffer": json["buffers"]![0]!["width"] = value; break;
                case "kvHeads": json["kvCaches"]![0]!["kvHeads"] = value; break;
                default: json[field] = value; break;
            }
        });
        CompiledFixture.Reseal(_model);
        long before = GC.GetTotalAllocatedBytes();
        Assert.Equal("CompiledModelInvalid", LoadFails());
        Assert.True(GC.GetTotalAllocatedBytes() - before < 256L << 20, "the load allocated before refusing");
    }

    [Fact]
    public void AFlippedWeightByteIsFoundByItsChecksum()
    {
        string image = CompiledLayout.ParamImage(_model, 1, 0);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            int value = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(value ^ 0x40));
        }

        Assert.Equal("CompiledModelCorrupt", LoadFails());
    }

    [Fact]
    public void ATruncatedImageIsRefused()
    {
        string image = CompiledLayout.ParamImage(_model, 2, 1);
        using (var stream = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length - 100);
        }

        Assert.Equal("CompiledModelCorrupt", LoadFails(2));
        CompiledFixture.Reseal(_model);
        Assert.Equal("CompiledModelInvalid", LoadFails(2));
    }

    [Fact]
    public void ASymlinkedImageLoadsThroughItsTarget()
    {
        string image = CompiledLayout.ParamImage(_model, 1, 0);
        string elsewhere = _temp.Sub("device0.bin");
        File.Move(image, elsewhere);
        File.CreateSymbolicLink(image, elsewhere);

        using var model = LoadedModel.Load(_model, 1);
        using var generation = model.Generate([1, 72, 101], new SamplingOptions { MaxNewTokens = 4 });
        Assert.Equal(4, generation.Count());
    }

    [Fact]
    public void AFifoInPlaceOfAnImageIsRefusedWithoutBlocking()
    {
        string image = CompiledLayout.ParamImage(_model, 1, 0);
        File.Delete(image);
        Assert.True(System.Diagnostics.Process.Start("mkfifo", [image])!.WaitForExit(10_000));
        var load = Task.Run(() => LoadFails());
        Assert.True(load.Wait(TimeSpan.FromSeconds(30)), "the load blocked on a FIFO");
        Assert.Equal("CompiledModelIncomplete", load.Result);
    }

    [Fact]
    public void APrefixCacheOfATerabyteIsRefusedWithAnErrorId() =>
        Assert.Equal("PrefixCacheTooLarge", LoadFails(1, new HostEngineOptions { PrefixCacheBytes = 1L << 40 }));

    [Fact]
    public void ThePrefixCacheSizeCapsTheCachedBlocks()
    {
        using var engine = HostEngine.Load(_model, 1, new HostEngineOptions { PrefixCacheBytes = 1 });
        Assert.Equal(1, engine.Blocks.MaxIdleCachedBlocks);
        var logits = new float[engine.VocabSize];
        for (int prompt = 0; prompt < 6; prompt++)
        {
            int[] tokens = Enumerable.Range(0, 40).Select(i => 3 + ((prompt * 41 + i * 7) % 250)).ToArray();
            var sequence = engine.CreateSequence(tokens, 48);
            engine.Forward(sequence, tokens.AsSpan(sequence.Length), logits);
            sequence.Dispose();
            Assert.True(engine.Blocks.Statistics.IdleBlocks <= 1, $"{engine.Blocks.Statistics.IdleBlocks} idle cached blocks with room for 1");
        }
    }

    [Fact]
    public void VerifyPassesAnIntactModelAndReadsEveryByte()
    {
        var result = CompiledModelVerifier.Verify(_model, NullReporter.Instance, CancellationToken.None);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.True(result.HasChecksums);
        Assert.Equal([1, 2], result.Variants);
        long bytes = Directory.EnumerateFiles(_model, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("hdx.json", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Equal(bytes, result.BytesChecked);
    }

    [Fact]
    public void VerifyFindsNaNWeightsAndAChangedProgramEvenWithTheChecksumsRewritten()
    {
        var index = CompiledModelFiles.ReadParamIndex(_model, 2, 0);
        var q = index.Tensors.Single(t => t.Name == "layers.1.attn.q");
        using (var stream = new FileStream(CompiledLayout.ParamImage(_model, 2, 0), FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = q.Offset + 64;
            stream.Write(BitConverter.GetBytes((ushort)0x7FC0)); // a bf16 NaN
        }

        CompiledFixture.EditJson(Program(1), json => json["instructions"]!.AsArray()[1]!["attributes"]!["eps"] = 0.5);
        CompiledFixture.Reseal(_model);
        var result = CompiledModelVerifier.Verify(_model, NullReporter.Instance, CancellationToken.None);
        Assert.False(result.IsValid);
        Assert.Contains(result.Problems, p => p.ErrorId == "WeightNotFinite" && p.Message.Contains("layers.1.attn.q", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.ErrorId == "CompiledModelCorrupt" && p.Message.Contains("ProgramDigest", StringComparison.Ordinal));
    }

    [Fact]
    public void VerifyListsEveryDamagedFile()
    {
        File.AppendAllText(Program(2, 1), " ");
        File.WriteAllText(Path.Combine(_model, CompiledLayout.TokenizerDirectory, "tokenizer.json"), "{}");
        var result = CompiledModelVerifier.Verify(_model, NullReporter.Instance, CancellationToken.None);
        Assert.Equal(2, result.Problems.Count(p => p.ErrorId == "CompiledModelCorrupt"));
    }

    [Fact]
    public void AMegabytePromptIsRefusedBeforeTokenizing()
    {
        using var model = LoadedModel.Load(_model, 1);
        string prompt = string.Concat(Enumerable.Repeat("Once upon a time, hello world. ", 1_000_000 / 31));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("PromptTooLong", Assert.Throws<HdxException>(() => model.Generate(prompt, new SamplingOptions())).ErrorId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }
}
