namespace WebRtcCdn.Server.Signaling;

/// <summary>
/// The send side of one client connection as a session sees it, whatever carries it: <see cref="MessageSocket"/>
/// over ASP.NET Core's WebSocket, or <see cref="Transport.WebSocketConnection"/>, the lean transport /signaling
/// uses on HTTP/1.1 connections.
/// </summary>
public interface IMessageConnection
{
    /// <summary>Set when the server closed the connection: the close code it used.</summary>
    int CloseCode { get; }

    /// <summary>
    /// Queues a text message; false (and the connection is closed) when the client is not keeping up. The bytes are
    /// only read during the call (an implementation copies what it keeps), so callers may pass a reused buffer.
    /// </summary>
    bool TrySend(ReadOnlyMemory<byte> utf8, int slowConsumerCloseCode);

    /// <summary>Closes the connection after the messages already queued (a close frame with code and reason).</summary>
    void Close(int code, string reason);
}
