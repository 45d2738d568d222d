using System.Text;
using HyperDex.Runtime.Serving;
using Xunit;

namespace HyperDex.Runtime.Tests.Serving;

/// <summary>OpenAI request bodies: what is accepted, and the 400 (with the offending param) for what is not.</summary>
public sealed class CompletionRequestParserTests
{
    private static CompletionRequest Parse(string json, bool chat = false) => CompletionRequestParser.Parse(Encoding.UTF8.GetBytes(json), chat);

    [Fact]
    public void ReadsACompletionRequestWithEverySupportedField()
    {
        var request = Parse("""
            {"model":"m","prompt":"hi","max_tokens":7,"temperature":0,"top_p":0.5,"top_k":-1,"seed":12345678901,"stop":["a","b"],
             "stream":true,"stream_options":{"include_usage":true},"logprobs":3,"repetition_penalty":1.1,"n":1,"ignore_eos":true,"presence_penalty":0,"user":"x"}
            """);
        Assert.Equal("m", request.Model);
        Assert.Equal("hi", request.PromptText);
        Assert.Equal(7, request.MaxTokens);
        Assert.Equal(0, request.Temperature);
        Assert.Equal(0.5, request.TopP);
        Assert.Equal(0, request.TopK);
        Assert.NotNull(request.Seed);
        Assert.Equal(["a", "b"], request.Stop);
        Assert.True(request.Stream && request.IncludeUsage && request.Logprobs);
        Assert.Equal(3, request.TopLogprobs);
        Assert.Equal(1.1, request.RepetitionPenalty);
        Assert.True(request.IgnoreEos);
    }

    [Fact]
    public void ReadsTokenIdPromptsAndChatMessagesWithTextParts()
    {
        Assert.Equal([1, 2, 3], Parse("""{"model":"m","prompt":[1,2,3]}""").PromptIds!);
        Assert.Equal([4], Parse("""{"model":"m","prompt":[[4]]}""").PromptIds!);
        var chat = Parse("""
            {"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
             "logprobs":true,"top_logprobs":2,"max_completion_tokens":9}
            """, chat: true);
        Assert.Equal([new ChatMessage("system", "be brief"), new ChatMessage("user", "ab")], chat.Messages);
        Assert.True(chat.Logprobs);
        Assert.Equal(2, chat.TopLogprobs);
        Assert.Equal(9, chat.MaxTokens);
    }

    [Theory]
    [InlineData("""{"prompt":"x"}""", "model")]
    [InlineData("""{"model":"m"}""", "prompt")]
    [InlineData("""{"model":"m","prompt":"x","temperature":"hot"}""", "temperature")]
    [InlineData("""{"model":"m","prompt":"x","temperature":3}""", "temperature")]
    [InlineData("""{"model":"m","prompt":"x","max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"m","prompt":"x","n":2}""", "n")]
    [InlineData("""{"model":"m","prompt":["a","b"]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[-1]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":"x","stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"m","prompt":"x","stream_options":{"include_usage":true}}""", "stream_options")]
    [InlineData("""{"model":"m","prompt":"x","logprobs":21}""", "logprobs")]
    [InlineData("""{"model":"m","prompt":"x","frequency_penalty":0.5}""", "frequency_penalty")]
    [InlineData("""{"model":"m","prompt":"x","echo":true}""", "echo")]
    public void RefusesInvalidOrUnsupportedCompletionFieldsNamingThem(string json, string param)
    {
        var error = Assert.Throws<OpenAiError>(() => Parse(json));
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "top_logprobs")]
    public void RefusesInvalidChatRequests(string json, string param)
    {
        var error = Assert.Throws<OpenAiError>(() => Parse(json, chat: true));
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void RefusesABodyThatIsNotAJsonObject()
    {
        Assert.Equal(400, Assert.Throws<OpenAiError>(() => Parse("{not json")).Status);
        Assert.Equal(400, Assert.Throws<OpenAiError>(() => Parse("[1]")).Status);
    }
}
