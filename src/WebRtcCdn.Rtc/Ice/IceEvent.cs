using System.Net;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>Something the agent reports; drained with <see cref="IceAgent.PollEvent"/>.</summary>
public abstract record IceEvent;

/// <summary>The connection state changed.</summary>
public sealed record IceStateChangedEvent(IceConnectionState State) : IceEvent;

/// <summary>A new local candidate to signal to the peer (trickle) or to put in the SDP.</summary>
public sealed record IceLocalCandidateEvent(IceCandidate Candidate) : IceEvent;

/// <summary>Gathering finished: signal end-of-candidates.</summary>
public sealed record IceGatheringCompleteEvent : IceEvent;

/// <summary>The pair application data goes over changed (nomination, re-nomination, or a pair that became usable).</summary>
public sealed record IceSelectedPairChangedEvent(IceCandidatePairInfo Pair) : IceEvent;

/// <summary>A role conflict (RFC 8445 sec. 7.3.1.1) switched our role.</summary>
public sealed record IceRoleChangedEvent(bool Controlling) : IceEvent;

/// <summary>
/// Application data (e.g. DTLS) that arrived through a TURN relay, already unwrapped. Datagrams that arrive
/// directly are not reported here: <see cref="IceAgent.HandleDatagram"/> returns false for them and the driver
/// routes them itself.
/// </summary>
public sealed record IceDataReceivedEvent(byte[] Data, IPEndPoint Remote) : IceEvent;
