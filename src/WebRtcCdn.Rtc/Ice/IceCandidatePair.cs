using System.Net;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>Check state of a pair (RFC 8445 sec. 6.1.2.6).</summary>
internal enum IcePairState
{
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

/// <summary>One of our candidates: what we advertise, plus the socket (base) it sends from and its TURN client if relayed.</summary>
internal sealed class IceLocalCandidate(IceCandidate candidate, IPEndPoint baseEndPoint, int localPreference, IceTurnAllocation? relay)
{
    public IceCandidate Candidate { get; } = candidate;

    public IPEndPoint Base { get; } = baseEndPoint;

    public int LocalPreference { get; } = localPreference;

    public IceTurnAllocation? Relay { get; } = relay;
}

/// <summary>A remote candidate with its resolved endpoint.</summary>
internal sealed class IceRemoteCandidate(IceCandidate candidate, IPEndPoint endPoint)
{
    public IceCandidate Candidate { get; set; } = candidate;

    public IPEndPoint EndPoint { get; } = endPoint;
}

/// <summary>A candidate pair on the checklist with its check and consent bookkeeping.</summary>
internal sealed class IceCandidatePair(IceLocalCandidate local, IceRemoteCandidate remote)
{
    public IceLocalCandidate Local { get; } = local;

    public IceRemoteCandidate Remote { get; } = remote;

    public IcePairState State { get; set; } = IcePairState.Frozen;

    public ulong Priority { get; set; }

    public string Foundation => Local.Candidate.Foundation + ":" + Remote.Candidate.Foundation;

    /// <summary>A check on it succeeded (or, for a lite agent, a valid check arrived on it).</summary>
    public bool Valid { get; set; }

    public bool Nominated { get; set; }

    /// <summary>Controlled agent: the peer nominated this pair before our own check on it succeeded.</summary>
    public bool NominateOnSuccess { get; set; }

    /// <summary>Last proof the path works: a success response to our check/consent request (full) or a valid incoming check (lite).</summary>
    public TimeSpan LastConsent { get; set; }

    public IceCandidatePairInfo Info => new(Local.Candidate, Remote.Candidate, Local.Base, Remote.EndPoint);

    /// <summary>RFC 8445 sec. 6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G the controlling side's priority.</summary>
    public void ComputePriority(bool controlling)
    {
        ulong g = controlling ? Local.Candidate.Priority : Remote.Candidate.Priority;
        ulong d = controlling ? Remote.Candidate.Priority : Local.Candidate.Priority;
        Priority = (Math.Min(g, d) << 32) + (2 * Math.Max(g, d)) + (g > d ? 1ul : 0ul);
    }
}
