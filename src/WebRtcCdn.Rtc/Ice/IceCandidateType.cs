namespace WebRtcCdn.Rtc.Ice;

/// <summary>Candidate types (RFC 8445 sec. 5.1.1) with their SDP names host, srflx, prflx, relay.</summary>
public enum IceCandidateType
{
    Host,
    ServerReflexive,
    PeerReflexive,
    Relayed,
}
