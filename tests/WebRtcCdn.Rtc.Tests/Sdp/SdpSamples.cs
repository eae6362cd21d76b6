namespace WebRtcCdn.Rtc.Tests.Sdp;

/// <summary>
/// Data-channel SDP in the forms the common stacks produce (written for these tests after the shapes those stacks
/// emit; Chromium 156's form as observed in docs/webrtc-interop.md). Line endings are normalised per test.
/// </summary>
internal static class SdpSamples
{
    public const string Fp1 = "6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08";
    public const string Fp2 = "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD:DE:EF:F0";

    /// <summary>Chromium 156 offer, data channel only, mDNS host candidate (createOffer + gathering).</summary>
    public const string ChromeOffer = """
        v=0
        o=- 4611731400430051336 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=candidate:1467250027 1 udp 2122260223 3c2f1b9e-8f0e-4c7d-9d4b-2a6a1d0e9f11.local 54321 typ host generation 0 network-id 1
        a=candidate:2999745851 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-id 1
        a=ice-ufrag:Xk3f
        a=ice-pwd:0bS9vYqW3c1Hn1hFz8o1KX2L
        a=ice-options:trickle
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144
        """;

    /// <summary>Chromium's answer to a data channel offer.</summary>
    public const string ChromeAnswer = """
        v=0
        o=- 8374561230981234567 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag:q9Zt
        a=ice-pwd:h2Xr7YpLm4Kd9Qw1Vb6Nc3Jz
        a=ice-options:trickle
        a=fingerprint:sha-256 A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD:DE:EF:F0
        a=setup:active
        a=mid:0
        a=sctp-port:5000
        a=max-message-size:262144
        """;

    /// <summary>Firefox offer: fingerprint at session level, huge max-message-size, end-of-candidates, TCP candidate.</summary>
    public const string FirefoxOffer = """
        v=0
        o=mozilla...THIS_IS_SDPARTA-99.0 5012290815287936010 0 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=group:BUNDLE 0
        a=ice-options:trickle
        a=msid-semantic:WMS *
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=candidate:0 1 UDP 2122252543 192.168.1.10 49676 typ host
        a=candidate:1 1 TCP 2105524479 192.168.1.10 9 typ host tcptype active
        a=sendrecv
        a=end-of-candidates
        a=ice-pwd:7f7a1a7b9b3d1e6c4b2a8f9e0d1c2b3a
        a=ice-ufrag:8a1b2c3d
        a=mid:0
        a=setup:actpass
        a=sctp-port:5000
        a=max-message-size:1073741823
        """;

    /// <summary>pion ICE-lite answer: session-level fingerprint, no max-message-size (so 64 KiB applies), passive.</summary>
    public const string PionLiteAnswer = """
        v=0
        o=- 2927307686215094172 1700000000 IN IP4 0.0.0.0
        s=-
        t=0 0
        a=msid-semantic:WMS*
        a=fingerprint:sha-256 A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34:45:56:67:78:89:9A:AB:BC:CD:DE:EF:F0
        a=ice-lite
        a=extmap-allow-mixed
        a=group:BUNDLE 0
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=setup:passive
        a=mid:0
        a=sendrecv
        a=sctp-port:5000
        a=ice-ufrag:pQhBWvJaFJzmDZzH
        a=ice-pwd:qnKqMhGPjpUYWLfMVkSYWqgXUHWHSKLB
        a=candidate:1234567890 1 udp 2130706431 192.0.2.10 50000 typ host
        a=candidate:1234567890 2 udp 2130706431 192.0.2.10 50000 typ host
        a=end-of-candidates
        """;

    /// <summary>libdatachannel offer: comma-separated ice-options, 4/22-character credentials, extra group.</summary>
    public const string LibDataChannelOffer = """
        v=0
        o=rtc 3432565736 0 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0
        a=group:LS 0
        a=msid-semantic:WMS *
        a=ice-options:ice2,trickle
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=mid:0
        a=sendrecv
        a=sctp-port:5000
        a=max-message-size:262144
        a=setup:actpass
        a=ice-ufrag:LGkN
        a=ice-pwd:IjZgo+5Rpm8a9LoxfY7lWS
        """;

    /// <summary>Legacy libwebrtc form (before RFC 8841): DTLS/SCTP with the port as format and a=sctpmap, string mid.</summary>
    public const string LegacyLibWebRtcOffer = """
        v=0
        o=- 1234567890 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE data
        a=msid-semantic: WMS
        m=application 9 DTLS/SCTP 5000
        c=IN IP4 0.0.0.0
        a=ice-ufrag:abcd
        a=ice-pwd:abcdefghijklmnopqrstuvwx
        a=ice-options:trickle
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:data
        a=sctpmap:5000 webrtc-datachannel 1024
        """;

    /// <summary>Chrome offering audio and a data channel in one BUNDLE; a data-only answer must reject the audio.</summary>
    public const string ChromeAudioAndDataOffer = """
        v=0
        o=- 5555555555555555555 2 IN IP4 127.0.0.1
        s=-
        t=0 0
        a=group:BUNDLE 0 1
        a=extmap-allow-mixed
        a=msid-semantic: WMS
        m=audio 9 UDP/TLS/RTP/SAVPF 111 63
        c=IN IP4 0.0.0.0
        a=rtcp:9 IN IP4 0.0.0.0
        a=ice-ufrag:Xk3f
        a=ice-pwd:0bS9vYqW3c1Hn1hFz8o1KX2L
        a=ice-options:trickle
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:0
        a=sendrecv
        a=rtpmap:111 opus/48000/2
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel
        c=IN IP4 0.0.0.0
        a=ice-ufrag:Xk3f
        a=ice-pwd:0bS9vYqW3c1Hn1hFz8o1KX2L
        a=ice-options:trickle
        a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
        a=setup:actpass
        a=mid:1
        a=sctp-port:5000
        a=max-message-size:262144
        """;

    /// <summary>SDP on the wire uses CRLF (RFC 8866); the raw strings here use LF. Tests use both.</summary>
    public static string Crlf(string sdp) => sdp.ReplaceLineEndings("\r\n") + "\r\n";
}
