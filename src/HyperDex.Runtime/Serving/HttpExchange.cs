using System.Net;
using System.Text;

namespace HyperDex.Runtime.Serving;

/// <summary>Reading and writing one HttpListener exchange: a size-limited body, JSON answers, and Server-Sent Events frames.</summary>
internal static class HttpExchange
{
    public static async Task<byte[]> ReadBodyAsync(HttpListenerRequest request, long limit, CancellationToken cancellation)
    {
        if (request.ContentLength64 > limit)
        {
            throw OpenAiError.TooLarge(limit);
        }

        using var body = new MemoryStream(request.ContentLength64 > 0 ? (int)request.ContentLength64 : 1024);
        var buffer = new byte[16384];
        int read;
        while ((read = await request.InputStream.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
        {
            if (body.Length + read > limit)
            {
                throw OpenAiError.TooLarge(limit); // a chunked body without a length
            }

            body.Write(buffer, 0, read);
        }

        return body.ToArray();
    }

    public static async Task WriteAsync(HttpListenerResponse response, int status, string contentType, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body).ConfigureAwait(false);
    }

    public static Task WriteJsonAsync(HttpListenerResponse response, int status, byte[] json) =>
        WriteAsync(response, status, "application/json", json);

    public static Task WriteErrorAsync(HttpListenerResponse response, OpenAiError error) =>
        WriteJsonAsync(response, error.Status, OpenAiJson.Json(error.Write));

    /// <summary>Starts a text/event-stream response (chunked, not cached or buffered by proxies).</summary>
    public static void StartEvents(HttpListenerResponse response)
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.SendChunked = true;
        response.Headers["Cache-Control"] = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public static async Task WriteEventAsync(HttpListenerResponse response, string frame)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(frame);
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
        await response.OutputStream.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Whether <paramref name="error"/> means the client went away while we were writing.</summary>
    public static bool IsDisconnect(Exception error) =>
        error is HttpListenerException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException;
}
