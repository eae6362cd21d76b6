namespace WebRtcCdn.Core.Signaling;

public enum ClientMessageType
{
    Join,
    Leave,
    Have,
    Offer,
    Answer,
    Candidate,
    IceServers,
    Ping,
}

/// <summary>
/// One parsed client-to-server message of the native protocol. Which properties are set depends on
/// <see cref="Type"/> (docs/PROTOCOL.md lists each message's fields); the parser has checked them.
/// </summary>
public sealed class ClientMessage
{
    public required ClientMessageType Type { get; init; }

    /// <summary>Optional request id, echoed in the reply or error so a client can match them.</summary>
    public long? Id { get; init; }

    public string? Swarm { get; init; }

    public string? Token { get; init; }

    public PeerRole Role { get; init; } = PeerRole.Browser;

    /// <summary>Chunks the peer holds (join, have).</summary>
    public int Chunks { get; init; }

    /// <summary>Chunks the content has, when the peer knows (join, have).</summary>
    public int? Total { get; init; }

    /// <summary>Which chunks the peer holds, bit i (MSB first) = chunk i; optional.</summary>
    public byte[]? Bitfield { get; init; }

    /// <summary>How many peer connections this peer accepts in total (join); 0 = unstated.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Peer connections the peer has now (have, join).</summary>
    public int Connections { get; init; }

    /// <summary>Bytes this peer has uploaded to other peers since it connected, cumulative (have; for /stats).</summary>
    public long Uploaded { get; init; }

    /// <summary>Chunks this peer has served to other peers since it connected, cumulative (have; for /stats).</summary>
    public long Served { get; init; }

    /// <summary>Candidate peers wanted (join).</summary>
    public int? Want { get; init; }

    /// <summary>Relay target peer id (offer, answer, candidate).</summary>
    public string? To { get; init; }

    /// <summary>A <c>from</c> the client put in; when present it must be its own id.</summary>
    public string? From { get; init; }

    /// <summary>Opaque connection id (offer, answer, candidate).</summary>
    public string? ConnectionId { get; init; }

    public string? Sdp { get; init; }

    /// <summary>The candidate object as raw JSON (<c>null</c> JSON for end-of-candidates).</summary>
    public string? CandidateJson { get; init; }
}
