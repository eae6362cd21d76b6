namespace WebRtcCdn.Core.Signaling.Client;

/// <summary>One server-to-client message of the native signaling protocol (docs/PROTOCOL.md section 1), as a client sees it.</summary>
public abstract record ServerMessage;

/// <summary>An RTCIceServer as signaling hands it out: URLs plus (ephemeral TURN) credentials.</summary>
public sealed record IceServerInfo(IReadOnlyList<string> Urls, string? Username, string? Credential);

/// <summary>The first message of a connection.</summary>
public sealed record WelcomeMessage(
    string PeerId,
    string ResumeToken,
    bool Resumed,
    TimeSpan HeartbeatInterval,
    int MaxPeers,
    IReadOnlyList<IceServerInfo> IceServers) : ServerMessage;

/// <summary>A candidate peer listed in <c>joined</c>.</summary>
public sealed record CandidatePeer(string PeerId, PeerRole Role, int Chunks, int? Total, bool SameGroup);

public sealed record JoinedMessage(long? Id, string Swarm, IReadOnlyList<CandidatePeer> Peers) : ServerMessage;

public sealed record LeftMessage(long? Id, string Swarm) : ServerMessage;

/// <summary>What a relayed message carries.</summary>
public enum RelayKind
{
    Offer,
    Answer,
    Candidate,
}

/// <summary>
/// A relayed <c>offer</c>/<c>answer</c> (<see cref="Sdp"/> set) or <c>candidate</c> (<see cref="Candidate"/> set, or
/// null for end-of-candidates), with the server-stamped sender.
/// </summary>
public sealed record RelayMessage(RelayKind Kind, string From, string Swarm, string? ConnectionId, string? Sdp, CandidateInit? Candidate) : ServerMessage;

/// <summary>RTCIceCandidateInit as relayed (the candidate line, its mid and m-line index).</summary>
public sealed record CandidateInit(string Candidate, string? SdpMid, int? SdpMLineIndex);

public sealed record PeerLeftMessage(string PeerId, string Swarm) : ServerMessage;

public sealed record PongMessage(long? Id) : ServerMessage;

public sealed record IceServersMessage(long? Id, IReadOnlyList<IceServerInfo> IceServers, TimeSpan Ttl) : ServerMessage;

public sealed record ErrorMessage(string Code, string Message, long? Id, string? Ref) : ServerMessage;
