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
    /// Send runs of equal-sized datagrams as one segmented sendmsg (UDP_SEGMENT) when <see cref="UseOffloads"/> is on:
    /// between our own peers it halves the CPU per MB (bench/RESULTS.md, `rtc`). On by default: the transfers toward
    /// Chromium that looked stalled with it (2026-11-24 04:51-05:00) were a race in the bench page (every byte had
    /// been acknowledged by Chromium's SCTP), and with the race fixed it completes every run with tens of chunks
    /// retransmitted per 32 MiB, as without it.
    /// </summary>
    public bool UseSegmentationOffload { get; init; } = true;

    /// <summary>
    /// Longest the Linux receive thread sleeps in recvmsg before it looks at the stop flag again (SO_RCVTIMEO). Only a
    /// safety net: dispose wakes it at once with shutdown(SHUT_RD). 200 ms bounds a stop whose wake-up got lost at what
    /// a person waiting on it hardly notices, for five wake-ups a second of an idle port. Tests set it to infinite to
    /// show the wake-up alone stops the thread.
    /// </summary>
    internal TimeSpan ReceiveSleepBound { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Bound on outstanding STUN transactions routed back by id (cleared wholesale beyond it; retransmissions re-register).</summary>
    public int MaxTransactions { get; init; } = 65_536;
}
