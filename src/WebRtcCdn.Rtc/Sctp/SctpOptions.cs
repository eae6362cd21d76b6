namespace WebRtcCdn.Rtc.Sctp;

/// <summary>Settings of one SCTP association. Defaults follow Chrome's dcSCTP unless a comment says otherwise.</summary>
public sealed class SctpOptions
{
    /// <summary>Our SCTP port and the peer's (SDP a=sctp-port; WebRTC uses 5000 on both sides, RFC 8841).</summary>
    public ushort LocalPort { get; init; } = 5000;

    public ushort RemotePort { get; init; } = 5000;

    /// <summary>Largest SCTP packet we emit: RFC 8261 sec. 5 keeps DTLS records within a 1200-byte-safe path MTU (no PMTUD).</summary>
    public int Mtu { get; init; } = 1200;

    /// <summary>
    /// Receive buffer, advertised as a_rwnd when empty. 16 MiB is 2x the bandwidth-delay product of 1 Gbit/s x 64 ms:
    /// loss recovery needs a window of about twice the BDP to keep the pipe full while holes are repaired (measured
    /// by the sctp-sim bench: at 1 Gbit/s, 50 ms RTT, 0.1% loss an 8 MiB window reaches 58.7% utilisation, 16 MiB
    /// 96.2%; pion went 370 -> 880 Mbit/s at 20 ms RTT when its buffer went 1 -> 4 MiB, pion/sctp#218; Chrome
    /// advertises 5 MiB). It is a bound, not an allocation: memory is only used while the application has not
    /// consumed delivered data, and a slow reader shrinks the advertised window (back-pressure).
    /// </summary>
    public int ReceiveBufferSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>Bound on bytes queued by Send and not yet acknowledged by the peer; Send fails beyond it (W3C throws OperationError).</summary>
    public int SendBufferSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest message we accept (SDP max-message-size we advertise); 256 KiB is what Chrome advertises.</summary>
    public int MaxReceiveMessageSize { get; init; } = 256 * 1024;

    /// <summary>Largest message we send: the PEER's max-message-size (65536 when its SDP omits it, RFC 8841).</summary>
    public int MaxSendMessageSize { get; init; } = 256 * 1024;

    /// <summary>Streams we offer (OS and MIS): 65535 like Chrome; the association uses min(ours, peer's).</summary>
    public ushort Streams { get; init; } = 65535;

    /// <summary>RFC 6298 initial RTO; 500 ms like dcSCTP (RFC 9260's 1 s hurts set-up after a lost INIT).</summary>
    public TimeSpan RtoInitial { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Lower RTO bound: 400 ms like dcSCTP. Lower would fire spurious retransmissions whenever the peer's delayed
    /// ack (up to 200 ms) and scheduling jitter stack up; loss recovery normally uses fast retransmit anyway.
    /// </summary>
    public TimeSpan RtoMin { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Upper RTO bound (RFC 9260 RTO.Max).</summary>
    public TimeSpan RtoMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Exponential back-off of any timer is capped here: Chrome uses 3 s so a path that recovers is used again quickly.</summary>
    public TimeSpan MaxTimerBackoff { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Delayed SACK bound: min(this, RTO/2) (RFC 9260 sec. 6.2 allows up to 500 ms; dcSCTP uses 200 ms).</summary>
    public TimeSpan DelayedAckMax { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Idle interval after which a HEARTBEAT probes the path (RFC 9260 HB.interval; dcSCTP uses 30 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RFC 9260 Valid.Cookie.Life.</summary>
    public TimeSpan CookieLifetime { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Initial congestion window in MTUs: 10 like dcSCTP (RFC 6928's IW10).</summary>
    public int InitialCwndMtus { get; init; } = 10;

    /// <summary>Advertise RFC 9653 zero-checksum acceptance (safe under DTLS, which authenticates every record).</summary>
    public bool AcceptZeroChecksum { get; init; } = true;

    /// <summary>Randomness for verification tags, initial TSNs and the cookie key; seed it in tests for determinism.</summary>
    public Random? Random { get; init; }
}
