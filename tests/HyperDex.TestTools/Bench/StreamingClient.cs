using System.Diagnostics;
using System.Text;

namespace HyperDex.TestTools.Bench;

/// <summary>What one streamed completion looked like from the client: time to first token, the gaps between tokens, and any failure.</summary>
public sealed record StreamTiming(int Tokens, double TimeToFirstToken, double[] InterTokenLatencies, string? Error);

/// <summary>
/// A streaming OpenAI client for the serving benchmark: posts a /v1/completions request with stream true and times
/// every data frame that carries a token as it arrives (SSE framing read line by line, as OpenAI's clients do).
/// </summary>
public static class StreamingClient
{
    public static async Task<StreamTiming> CompleteAsync(HttpClient client, string model, int[] prompt, int maxTokens)
    {
        string body = $$"""{"model":"{{model}}","prompt":[{{string.Join(",", prompt)}}],"max_tokens":{{maxTokens}},"temperature":0,"ignore_eos":true,"stream":true}""";
        var clock = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new StreamTiming(0, 0, [], $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
            var gaps = new List<double>(maxTokens);
            double first = 0, last = 0;
            int tokens = 0;
            bool done = false;
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line == "data: [DONE]")
                {
                    done = true;
                    break;
                }

                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                if (line.Contains("\"error\"", StringComparison.Ordinal))
                {
                    return new StreamTiming(tokens, first, gaps.ToArray(), line);
                }

                double now = clock.Elapsed.TotalSeconds;
                if (tokens++ == 0)
                {
                    first = now;
                }
                else
                {
                    gaps.Add(now - last);
                }

                last = now;
            }

            string? error = !done ? "the stream ended without [DONE]" : tokens != maxTokens ? $"{tokens} tokens instead of {maxTokens}" : null;
            return new StreamTiming(tokens, first, gaps.ToArray(), error);
        }
        catch (Exception error) when (error is HttpRequestException or IOException or TaskCanceledException)
        {
            return new StreamTiming(0, 0, [], error.Message);
        }
    }
}
