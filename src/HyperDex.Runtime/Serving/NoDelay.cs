using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace HyperDex.Runtime.Serving;

/// <summary>
/// Turns off Nagle's algorithm on a streaming response's connection. HttpListener's managed implementation (Linux,
/// macOS) leaves it on and offers no setting, so each small token frame waits for the client's delayed ACK (~40 ms
/// on Linux) whenever a frame is in flight: tokens arrive in 40 ms bursts. The socket is reached through the
/// implementation's private fields (HttpListenerContext._connection._socket); if a future runtime renames them, this
/// does nothing and streams only lose latency, never correctness.
/// </summary>
internal static class NoDelay
{
    private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
    private static readonly FieldInfo? ConnectionField = typeof(HttpListenerContext).GetField("_connection", Private);
    private static readonly FieldInfo? SocketField = ConnectionField?.FieldType.GetField("_socket", Private);

    public static void Enable(HttpListenerContext context)
    {
        try
        {
            if (ConnectionField?.GetValue(context) is { } connection && SocketField?.GetValue(connection) is Socket socket)
            {
                socket.NoDelay = true;
            }
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException or ArgumentException or FieldAccessException)
        {
            // The connection is already gone, or the private layout differs: the stream works as before.
        }
    }
}
