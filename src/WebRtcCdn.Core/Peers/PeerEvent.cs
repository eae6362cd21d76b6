using WebRtcCdn.Core.Wire;

namespace WebRtcCdn.Core.Peers;

/// <summary>What a <see cref="PeerSessionCore"/> tells its driver.</summary>
public abstract record PeerEvent;

/// <summary>The remote HELLO arrived: the remote holds the chunks set in <see cref="PeerSessionCore.RemoteHas"/>.</summary>
public sealed record RemoteHelloEvent : PeerEvent;

/// <summary>The remote announced a chunk.</summary>
public sealed record RemoteHaveEvent(int ChunkIndex) : PeerEvent;

/// <summary>The serving side needs the chunk's bytes: the driver loads them and calls <see cref="PeerSessionCore.ProvideChunk"/>.</summary>
public sealed record ChunkNeededEvent(int ChunkIndex) : PeerEvent;

/// <summary>One of our requests completed: the whole chunk (not yet verified: the caller checks its hash).</summary>
public sealed record RequestCompletedEvent(uint RequestId, int ChunkIndex, byte[] Data) : PeerEvent;

/// <summary>One of our requests failed: rejected by the remote, timed out, or the session closed.</summary>
public sealed record RequestFailedEvent(uint RequestId, int ChunkIndex, RequestFailure Failure, RejectReason? Reason = null) : PeerEvent;

/// <summary>The session ended; the driver closes the channel.</summary>
public sealed record SessionClosedEvent(string Reason) : PeerEvent;

public enum RequestFailure
{
    Rejected,
    TimedOut,
    Closed,
}
