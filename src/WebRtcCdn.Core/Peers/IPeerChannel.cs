namespace WebRtcCdn.Core.Peers;

/// <summary>
/// One ordered, reliable, message-oriented channel to a peer: the shape of an RTCDataChannel as the wire
/// protocol needs it. Implemented in memory (<see cref="InMemoryPeerChannel"/>, tests and in-process peers) and
/// over our RtcDataChannel (when the RTC layer lands), so that <see cref="PeerSession"/> never knows which.
/// </summary>
public interface IPeerChannel : IAsyncDisposable
{
    /// <summary>The data channel's label (<c>cdn</c> for the wire protocol).</summary>
    string Label { get; }

    /// <summary>
    /// Sends one binary message. Completes when the transport has room for it (back-pressure: the caller's
    /// next send waits, so nothing unbounded queues behind a slow peer). Throws
    /// <see cref="PeerChannelClosedException"/> after the channel closed.
    /// </summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>The received messages, in order; the sequence ends when the channel closes.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Closes both directions; the peer's receive sequence ends.</summary>
    ValueTask CloseAsync();
}
