namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>SCTP payload protocol identifiers of WebRTC data channels (RFC 8831 sec. 8, IANA).</summary>
public static class DataChannelPpid
{
    public const uint Dcep = 50;
    /// <summary>WebRTC String (UTF-8).</summary>
    public const uint Text = 51;

    /// <summary>Deprecated partial binary (old Chrome fragmentation); accepted as binary.</summary>
    public const uint BinaryPartial = 52;
    public const uint Binary = 53;

    /// <summary>Deprecated partial string; accepted as a string.</summary>
    public const uint TextPartial = 54;

    /// <summary>Empty string, sent as one 0x00 byte (SCTP has no empty DATA).</summary>
    public const uint TextEmpty = 56;

    /// <summary>Empty binary message, sent as one 0x00 byte.</summary>
    public const uint BinaryEmpty = 57;
}
