namespace WebRtcCdn.Rtc.Ice;

/// <summary>Configuration of one <see cref="IceAgent"/>. Defaults carry their source.</summary>
public sealed class IceAgentOptions
{
    /// <summary>ICE-lite (RFC 8445 sec. 2.5): a server with a public address; answers checks, never sends them.</summary>
    public bool Lite { get; init; }

    /// <summary>Initial role; a lite agent is always controlled. Role conflicts may switch a full agent.</summary>
    public bool Controlling { get; init; }

    /// <summary>Our ice-ufrag; generated (8 ice-chars, RFC 8839 requires >= 4) when null.</summary>
    public string? LocalUfrag { get; init; }

    /// <summary>Our ice-pwd; generated (24 ice-chars, RFC 8839 requires >= 22) when null.</summary>
    public string? LocalPassword { get; init; }

    /// <summary>STUN and TURN servers for server-reflexive and relayed candidates (full agents only).</summary>
    public IReadOnlyList<IceServer> Servers { get; init; } = [];

    /// <summary>Pacing interval between checks; RFC 8445 sec. 14.2 default 50 ms.</summary>
    public TimeSpan Ta { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>First retransmission of a check; RFC 8445 sec. 14.3 floor of 500 ms.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Retransmission back-off cap (Chrome caps STUN back-off near 3 s too): keeps late retries useful.</summary>
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Transmissions of one check before the pair fails: RFC 8489 Rc = 7.</summary>
    public int MaxCheckTransmissions { get; init; } = 7;

    /// <summary>Consent check interval (RFC 7675 sec. 5.1: 5 s, randomised by +/-20 % per check).</summary>
    public TimeSpan ConsentInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Without a consent response for this long the state goes Disconnected (two missed checks).</summary>
    public TimeSpan DisconnectedTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Consent expires after 30 s without a response (RFC 7675 sec. 5.1): Failed, stop sending.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A checking agent with no usable pair gives up after this long (browsers use about 30 s too).</summary>
    public TimeSpan CheckingTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After the first valid pair, how long the controlling agent waits for a better one before nominating.</summary>
    public TimeSpan NominationDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bound on remote candidates (signalled or peer-reflexive): remote input must not grow state without limit.</summary>
    public int MaxRemoteCandidates { get; init; } = 50;

    /// <summary>Checklist size limit; RFC 8445 sec. 6.1.2.5 recommends 100.</summary>
    public int MaxPairs { get; init; } = 100;

    /// <summary>
    /// Optional mDNS resolver for ".local" remote candidates (e.g. a cache filled by a multicast DNS client).
    /// Without it, or when it returns null, such candidates are ignored and the peer is found peer-reflexively.
    /// </summary>
    public Func<string, System.Net.IPAddress?>? MdnsResolver { get; init; }

    /// <summary>Randomness for tie-breaker, credentials, foundations and consent jitter; seed it for deterministic tests.</summary>
    public Random? Random { get; init; }

    /// <summary>SOFTWARE attribute value, or null to send none.</summary>
    public string? Software { get; init; }
}
