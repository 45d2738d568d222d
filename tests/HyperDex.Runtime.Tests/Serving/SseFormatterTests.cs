using System.Text.Json;
using HyperDex.Runtime.Generation;
using Xunit;

namespace HyperDex.Runtime.Tests.Serving;

/// <summary>Start-HdxGeneration -Sse frames: OpenAI text_completion chunks, one id per stream.</summary>
public sealed class SseFormatterTests
{
    private static JsonElement Parse(string frame)
    {
        Assert.StartsWith("data: ", frame);
        Assert.EndsWith("\n\n", frame);
        return JsonDocument.Parse(frame["data: ".Length..]).RootElement;
    }

    [Fact]
    public void FramesAreTextCompletionChunksSharingTheStreamsId()
    {
        var sse = new SseFormatter("org/model");
        var first = Parse(sse.Frame(new GeneratedToken(0, 5, "Hel", -0.5f, TimeSpan.Zero, DateTime.UtcNow, null)));
        var last = Parse(sse.Frame(new GeneratedToken(1, 6, "lo \"you\"", -0.1f, TimeSpan.Zero, DateTime.UtcNow, FinishReason.Eos)));
        Assert.Equal("text_completion", first.GetProperty("object").GetString());
        Assert.Equal("org/model", first.GetProperty("model").GetString());
        Assert.Equal(sse.Id, first.GetProperty("id").GetString());
        Assert.Equal(sse.Id, last.GetProperty("id").GetString());
        Assert.StartsWith("cmpl-", sse.Id);
        var choice = first.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("Hel", choice.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
        Assert.Equal("lo \"you\"", last.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("data: [DONE]\n\n", SseFormatter.Done);
        Assert.NotEqual(sse.Id, new SseFormatter("org/model").Id);
    }

    [Fact]
    public void LengthAndStopStringsMapToOpenAisFinishReasons()
    {
        var sse = new SseFormatter("m");
        string Reason(FinishReason reason) =>
            Parse(sse.Frame(new GeneratedToken(0, 1, "", 0, TimeSpan.Zero, DateTime.UtcNow, reason))).GetProperty("choices")[0].GetProperty("finish_reason").GetString()!;
        Assert.Equal("length", Reason(FinishReason.Length));
        Assert.Equal("stop", Reason(FinishReason.Stop));
    }
}
