using System.Net;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;

namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>W3C RTCConfiguration, as far as a data-channel-only peer needs it.</summary>
public sealed class RtcConfiguration
{
    /// <summary>STUN and TURN servers for gathering (W3C iceServers).</summary>
    public IReadOnlyList<IceServer> IceServers { get; init; } = [];

    /// <summary>ICE-lite (RFC 8445 sec. 2.5): for a server with a reachable address; it never sends checks and is always controlled.</summary>
    public bool IceLite { get; init; }

    /// <summary>
    /// A shared socket for many connections (a server needs one port for all peers). When null the connection binds
    /// its own socket on <see cref="BindAddress"/> within <see cref="PortRange"/> and closes it with the connection.
    /// </summary>
    public UdpMux? UdpMux { get; init; }

    /// <summary>Address of the connection's own socket (ignored with <see cref="UdpMux"/>). Any = every interface.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>Inclusive port range for the connection's own socket; null lets the OS choose.</summary>
    public (int Min, int Max)? PortRange { get; init; }

    /// <summary>Host candidate addresses to announce; null derives them from the socket's address.</summary>
    public IReadOnlyList<IPAddress>? HostAddresses { get; init; }

    /// <summary>Our DTLS certificate (W3C certificates); the process-wide ECDSA P-256 one by default.</summary>
    public RtcCertificate Certificate { get; init; } = RtcCertificate.Default;

    /// <summary>Resolve remote ".local" candidates with multicast DNS; otherwise the peer is found peer-reflexively.</summary>
    public bool ResolveMdnsCandidates { get; init; }

    /// <summary>ICE pacing (RFC 8445 Ta). 50 ms is the RFC default; between our own peers on a LAN 5 ms is plenty.</summary>
    public TimeSpan IceCheckInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>SCTP receive buffer (advertised window); see <see cref="Sctp.SctpOptions.ReceiveBufferSize"/>.</summary>
    public int SctpReceiveBufferSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Largest message we accept, advertised as a=max-message-size: 256 KiB like Chrome.</summary>
    public int MaxMessageSize { get; init; } = 256 * 1024;

    /// <summary>Clock and timers (virtual in tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
