namespace WebRtcCdn.Rtc.Net;

/// <summary>What a datagram on a WebRTC 5-tuple is, from its first byte (RFC 7983 sec. 7, as updated by RFC 9443).</summary>
public enum DatagramKind
{
    Unknown,

    /// <summary>0-3: STUN (ICE checks, TURN control).</summary>
    Stun,

    /// <summary>20-63: DTLS records.</summary>
    Dtls,

    /// <summary>64-79: TURN ChannelData.</summary>
    ChannelData,

    /// <summary>128-191: RTP/RTCP (not used by a data-channel-only stack).</summary>
    Rtp,
}

/// <summary>The RFC 7983 first-byte demultiplexer.</summary>
public static class DatagramClassifier
{
    public static DatagramKind Classify(ReadOnlySpan<byte> datagram) => datagram.IsEmpty ? DatagramKind.Unknown : datagram[0] switch
    {
        <= 3 => DatagramKind.Stun,
        >= 20 and <= 63 => DatagramKind.Dtls,
        >= 64 and <= 79 => DatagramKind.ChannelData,
        >= 128 and <= 191 => DatagramKind.Rtp,
        _ => DatagramKind.Unknown,
    };
}
