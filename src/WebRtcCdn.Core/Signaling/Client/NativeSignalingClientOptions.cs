namespace WebRtcCdn.Core.Signaling.Client;

public sealed class NativeSignalingClientOptions
{
    /// <summary>Largest server message accepted; larger ones drop the connection. 64 KiB: the server's own default max_message_size.</summary>
    public int MaxMessageSize { get; init; } = 64 << 10;

    /// <summary>Outgoing messages waiting for the socket; beyond it a send fails (bounded). 256: the server's own per-connection send queue.</summary>
    public int SendQueueCapacity { get; init; } = 256;

    /// <summary>Received messages waiting for the handlers; when full the socket is not read (back-pressure). 256, as the send queue.</summary>
    public int ReceiveQueueCapacity { get; init; } = 256;

    /// <summary>First reconnect delay: 0.5 s, as the browser SDK.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest reconnect delay: 30 s, as the browser SDK.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Upgrade plus welcome must arrive within this: 10 s (a WebSocket upgrade takes a round trip or two).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A request (join, leave, ice-servers) without a reply in this time fails: 10 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
