using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HyperDex.Runtime.Generation;
using HyperDex.Runtime.Serving;
using Xunit;

namespace HyperDex.Runtime.Tests.Serving;

/// <summary>The HTTP server end to end over loopback with HttpClient: OpenAI wire format, errors, auth, limits, metrics.</summary>
public sealed class HdxServerTests : IClassFixture<ServingModel>
{
    private readonly ServingModel _model;

    public HdxServerTests(ServingModel model) => _model = model;

    private HdxServer Start(ServerOptions? options = null) =>
        HdxServer.Start((options ?? new ServerOptions()) with { Port = 0 }, [("tiny", ModelPool.Acquire(_model.Path, 1, noCache: true))]);

    private static HttpClient Client(HdxServer server) => new() { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Error(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

    /// <summary>The texts of a stream's chunks, and the parsed chunks; asserts it ends with [DONE].</summary>
    private static List<JsonElement> Chunks(string body)
    {
        string[] frames = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(frames, f => Assert.StartsWith("data: ", f));
        Assert.Equal("data: [DONE]", frames[^1]);
        return frames[..^1].Select(f => JsonDocument.Parse(f["data: ".Length..]).RootElement).ToList();
    }

    [Fact]
    public async Task GreedyCompletionsStreamedAndNotStreamedEqualStartHdxGenerationsText()
    {
        string expected;
        using (var model = LoadedModel.Load(_model.Path))
        using (var generation = model.Generate("the cat", new SamplingOptions { MaxNewTokens = 10 }, usePrefixCache: false))
        {
            Assert.NotEmpty(generation.ToList());
            expected = generation.Text;
        }

        using var server = Start();
        using var client = Client(server);
        var whole = await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":"the cat","max_tokens":10,"temperature":0}"""));
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        var body = JsonDocument.Parse(await whole.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("tiny", body.GetProperty("model").GetString());
        Assert.Equal(expected, body.GetProperty("choices")[0].GetProperty("text").GetString());
        int completionTokens = body.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.Equal(completionTokens == 10 ? "length" : "stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        var streamed = await client.PostAsync("v1/completions",
            Json("""{"model":"tiny","prompt":"the cat","max_tokens":10,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"""));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        var chunks = Chunks(await streamed.Content.ReadAsStringAsync());
        Assert.Equal(expected, string.Concat(chunks.SkipLast(1).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.All(chunks, c => Assert.Equal(chunks[0].GetProperty("id").GetString(), c.GetProperty("id").GetString()));
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(completionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + completionTokens, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(server.Models[0].Model.Engine.Blocks.BlockCount, server.Models[0].Model.Engine.Blocks.FreeBlocks);
    }

    [Fact]
    public async Task ASeedReproducesASampledCompletion()
    {
        using var server = Start();
        using var client = Client(server);
        const string request = """{"model":"tiny","prompt":"a","max_tokens":12,"temperature":1,"seed":42}""";
        string first = await (await client.PostAsync("v1/completions", Json(request))).Content.ReadAsStringAsync();
        string second = await (await client.PostAsync("v1/completions", Json(request))).Content.ReadAsStringAsync();
        string Text(string json) => JsonDocument.Parse(json).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(Text(first), Text(second));
    }

    [Fact]
    public async Task ChatGoesThroughTheRendererAndAnswersInChatFormat()
    {
        // The renderer seam: a stand-in template here; the real Jinja renderer is wired into ChatPrompt.Render.
        using var server = Start(new ServerOptions { ChatRenderer = (_, messages) => string.Join("\n", messages.Select(m => $"{m.Role}: {m.Content}")) + "\nassistant:" });
        using var client = Client(server);
        var response = await client.PostAsync("v1/chat/completions",
            Json("""{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":6,"temperature":0,"logprobs":true,"top_logprobs":2}"""));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        var content = choice.GetProperty("logprobs").GetProperty("content");
        Assert.Equal(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), content.GetArrayLength());
        Assert.Equal(2, content[0].GetProperty("top_logprobs").GetArrayLength());

        var streamed = await client.PostAsync("v1/chat/completions",
            Json("""{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":6,"temperature":0,"stream":true}"""));
        var chunks = Chunks(await streamed.Content.ReadAsStringAsync());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string text = string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), text);
    }

    [Fact]
    public async Task ChatRendersTheModelsTemplateOrAnswers400WithoutOne()
    {
        // The generated model has no chat template: the real renderer says so as an OpenAI 400.
        using (var server = Start())
        using (var client = Client(server))
        {
            var response = await client.PostAsync("v1/chat/completions", Json("""{"model":"tiny","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("chat template", (await Error(response)).GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        }

        // With a chat_template.jinja the prompt is the template's rendering, tokenized without added special tokens.
        string withTemplate = Path.Combine(Path.GetTempPath(), "hdx-chat-" + Guid.NewGuid().ToString("N"));
        CopyFolder(_model.Path, withTemplate);
        try
        {
            const string Template = "{% for m in messages %}<s>{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
            File.WriteAllText(Path.Combine(withTemplate, "tokenizer", "chat_template.jinja"), Template);
            string rendered = ChatPrompt.Render(withTemplate, [new ChatMessage("user", "hello")]);
            Assert.Equal("<s>user: hello\nassistant:", rendered);
            using var server = HdxServer.Start(new ServerOptions { Port = 0 }, [("tiny", ModelPool.Acquire(withTemplate, 1, noCache: true))]);
            using var client = Client(server);
            var response = await client.PostAsync("v1/chat/completions",
                Json("""{"model":"tiny","messages":[{"role":"user","content":"hello"}],"max_tokens":4,"temperature":0}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            using var model = LoadedModel.Load(withTemplate);
            Assert.Equal(model.Tokenizer.Encode(rendered, addSpecialTokens: false).Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }
        finally
        {
            Directory.Delete(withTemplate, recursive: true);
        }
    }

    private static void CopyFolder(string source, string target)
    {
        foreach (string directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(source, target, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(source, target, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ErrorsHaveOpenAiBodiesAndStatuses()
    {
        using var server = Start(new ServerOptions { MaxRequestBytes = 40_000 });
        using var client = Client(server);
        var unknown = await client.PostAsync("v1/completions", Json("""{"model":"/some/path","prompt":"x"}"""));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("model_not_found", (await Error(unknown)).GetProperty("code").GetString());

        var tooLong = await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":[""" + string.Join(",", Enumerable.Repeat(5, 8192)) + "]}"));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("context_length_exceeded", (await Error(tooLong)).GetProperty("code").GetString());

        var tooMany = await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":"x","max_tokens":9000}"""));
        Assert.Equal("context_length_exceeded", (await Error(tooMany)).GetProperty("code").GetString());

        var big = await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":" """ + new string('a', 50_000) + "\"}"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);

        var route = await client.GetAsync("v1/nothing");
        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("v1/completions")).StatusCode);
    }

    [Fact]
    public async Task AnInternalErrorIs500WithoutAStackTrace()
    {
        using var server = Start(new ServerOptions { ChatRenderer = (_, _) => throw new InvalidOperationException("secret internals") });
        using var client = Client(server);
        var response = await client.PostAsync("v1/chat/completions", Json("""{"model":"tiny","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret", body);
        Assert.DoesNotContain(" at ", body);
        Assert.Equal("server_error", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task TheApiKeyGuardsV1ButNotHealth()
    {
        using var server = Start(new ServerOptions { ApiKey = "sesame" });
        using var client = Client(server);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("v1/models")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        var wrong = await client.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("invalid_api_key", (await Error(wrong)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sesame");
        var models = JsonDocument.Parse(await client.GetStringAsync("v1/models")).RootElement;
        Assert.Equal("tiny", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task AFullQueueAnswers429()
    {
        using var server = Start(new ServerOptions { MaxConcurrentRequests = 1, MaxQueuedRequests = 0 });
        using var client = Client(server);
        // Two sequences of MaxLength take every KV block, so the first request holds the only slot waiting for room.
        var engine = server.Models[0].Model.Engine;
        var hogs = new[] { engine.CreateSequence(engine.MaxLength), engine.CreateSequence(engine.MaxLength) };
        var holding = client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":"x","max_tokens":3}"""));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (server.Running == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var rejected = await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":"x","max_tokens":1}"""));
        Assert.Equal((HttpStatusCode)429, rejected.StatusCode);
        Assert.Equal("rate_limit_exceeded", (await Error(rejected)).GetProperty("code").GetString());
        foreach (var hog in hogs)
        {
            hog.Dispose();
        }

        Assert.Equal(HttpStatusCode.OK, (await holding).StatusCode);
    }

    [Fact]
    public async Task AClientLeavingMidStreamCancelsItsGenerationAndFreesItsBlocks()
    {
        using var server = Start();
        var blocks = server.Models[0].Model.Engine.Blocks;
        using (var client = Client(server))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
            {
                Content = Json("""{"model":"tiny","prompt":"x","max_tokens":4000,"ignore_eos":true,"stream":true}"""),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[16]) > 0);
            Assert.True(blocks.FreeBlocks < blocks.BlockCount);
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (blocks.FreeBlocks < blocks.BlockCount && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(blocks.BlockCount, blocks.FreeBlocks);
        Assert.Equal(0, server.Models[0].Scheduler.Running);
    }

    [Fact]
    public async Task MetricsArePrometheusTextWithRequestsTokensAndLatencies()
    {
        using var server = Start();
        using var client = Client(server);
        await client.PostAsync("v1/completions", Json("""{"model":"tiny","prompt":"x","max_tokens":3}"""));
        await client.PostAsync("v1/completions", Json("""{"model":"nope","prompt":"x"}"""));
        var response = await client.GetAsync("metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains("hdx_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 1\n", text);
        Assert.Contains("hdx_requests_total{endpoint=\"/v1/completions\",status=\"404\"} 1\n", text);
        Assert.Contains("hdx_generation_tokens_total{model=\"tiny\"} 3\n", text);
        Assert.Contains("hdx_time_to_first_token_seconds_count{model=\"tiny\"} 1\n", text);
        Assert.Contains("hdx_inter_token_latency_seconds_count{model=\"tiny\"} 2\n", text);
        Assert.Contains("hdx_kv_cache_blocks_used{model=\"tiny\"} 0\n", text);
        Assert.Contains("# TYPE hdx_time_to_first_token_seconds histogram\n", text);
    }

    [Fact]
    public async Task StoppingReleasesThePortAndCancelsRunningStreams()
    {
        var server = Start();
        var port = new Uri(server.Url).Port;
        var blocks = server.Models[0].Model.Engine.Blocks;
        using var client = Client(server);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = Json("""{"model":"tiny","prompt":"x","max_tokens":4000,"ignore_eos":true,"stream":true}"""),
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: {", await reader.ReadLineAsync());
        server.Stop(TimeSpan.Zero);
        string rest;
        try
        {
            rest = await reader.ReadToEndAsync();
        }
        catch (Exception error) when (error is IOException or HttpRequestException)
        {
            rest = string.Empty; // the connection was closed mid-chunk
        }

        Assert.DoesNotContain("[DONE]", rest);
        Assert.False(server.IsRunning);
        Assert.DoesNotContain(server, HdxServer.All);
        Assert.Equal(blocks.BlockCount, blocks.FreeBlocks);
        using var again = HdxServer.Start(new ServerOptions { Port = port }, [("tiny", ModelPool.Acquire(_model.Path, 1, noCache: true))]);
        Assert.Equal(port, new Uri(again.Url).Port);
        server.Dispose();
    }
}
