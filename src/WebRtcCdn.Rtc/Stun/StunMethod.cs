namespace WebRtcCdn.Rtc.Stun;

/// <summary>STUN/TURN methods (RFC 8489 sec. 18.2, RFC 8656 sec. 17).</summary>
public enum StunMethod : ushort
{
    Binding = 0x001,
    Allocate = 0x003,
    Refresh = 0x004,
    Send = 0x006,
    Data = 0x007,
    CreatePermission = 0x008,
    ChannelBind = 0x009,
}
