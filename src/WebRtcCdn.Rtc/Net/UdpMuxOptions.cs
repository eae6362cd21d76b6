namespace WebRtcCdn.Rtc.Net;

/// <summary>Socket and routing bounds of a <see cref="UdpMux"/>.</summary>
public sealed class UdpMuxOptions
{
    /// <summary>
    /// SO_RCVBUF: the default drops packets under load on loopback; pion went from ~16 to ~60 MB/s with 4 MiB
    /// (docs/webrtc-interop.md, "UDP socket buffers"). The kernel may clamp it to net.core.rmem_max.
    /// </summary>
    public int ReceiveBufferSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>SO_SNDBUF, for the same reason as the receive buffer.</summary>
    public int SendBufferSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest datagram we accept; UDP cannot carry more than 65507 bytes of payload over IPv4.</summary>
    public int MaxDatagramSize { get; init; } = 65536;

    /// <summary>Bound on remote-address routes (learned only from our own sends, so attackers cannot fill it cheaply).</summary>
    public int MaxRoutes { get; init; } = 100_000;

    /// <summary>
    /// Use the Linux UDP offloads (segmented sends, coalesced receives, drained non-blocking receives: see
    /// <see cref="LinuxUdp"/>) when the kernel has them. Off: one SendTo / ReceiveFrom per datagram, as on other
    /// systems (the tests run both paths).
    /// </summary>
    public bool UseOffloads { get; init; } = true;

    /// <summary>
    /// Send runs of equal-sized datagrams as one segmented sendmsg (UDP_SEGMENT) when <see cref="UseOffloads"/> is on.
    /// Off by default: between our own peers it halves the CPU per MB, but transfers toward headless Chromium on
    /// loopback stalled in 3 of 4 bench runs with it and in none without (2026-11-24, bench/RESULTS.md, not diagnosed
    /// yet); a server talking only to our own native peers may turn it on.
    /// </summary>
    public bool UseSegmentationOffload { get; init; }

    /// <summary>Bound on outstanding STUN transactions routed back by id (cleared wholesale beyond it; retransmissions re-register).</summary>
    public int MaxTransactions { get; init; } = 65_536;
}
