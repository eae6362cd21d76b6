using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>Configuration of one <see cref="DtlsEndpoint"/>.</summary>
public sealed class DtlsEndpointOptions
{
    /// <summary>Largest datagram we send; handshake messages are fragmented to fit. 1200 bytes keeps every packet
    /// under the IPv6 minimum MTU with room for TURN framing (RFC 8261 sec. 5, interop notes item 15).</summary>
    public const int DefaultMaxDatagramSize = 1200;

    /// <summary>Our role, from SDP a=setup.</summary>
    public required DtlsRole Role { get; init; }

    /// <summary>Our certificate; <see cref="RtcCertificate.Default"/> (one per process) unless configured.</summary>
    public RtcCertificate Certificate { get; init; } = RtcCertificate.Default;

    /// <summary>The peer's a=fingerprint values from its SDP; its certificate must match one of them. At least one.</summary>
    public required IReadOnlyList<CertificateFingerprint> RemoteFingerprints { get; init; }

    /// <summary>Give up a handshake that has not completed after this long. Browsers give up ICE after ~30 s of no
    /// answers (interop notes item 10); a handshake that needs longer than that will not be used.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First retransmission timeout of a handshake flight, doubling up to 60 s (RFC 6347 sec. 4.2.4.1 recommends 1 s).</summary>
    public TimeSpan InitialRetransmitTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest datagram we send.</summary>
    public int MaxDatagramSize { get; init; } = DefaultMaxDatagramSize;

    /// <summary>Called from the handshake thread when new datagrams or events are ready: the driver should then call
    /// <see cref="DtlsEndpoint.PollTransmit"/> / <see cref="DtlsEndpoint.PollEvent"/> from its own thread. Must not block.</summary>
    public Action? WakeUp { get; init; }

    /// <summary>Test hook: lets a test inflate our ClientHello (e.g. to force fragmentation).</summary>
    internal Action<IDictionary<int, byte[]>>? ClientExtensionsHook { get; init; }

    /// <summary>Test hook: runs on the thread that makes the X25519 key pair, just before it does (tests see where that happens).</summary>
    internal Action? KeyPreparationHook { get; init; }
}
