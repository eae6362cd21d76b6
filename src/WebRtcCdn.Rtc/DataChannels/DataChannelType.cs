namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>DATA_CHANNEL_OPEN channel types (RFC 8832 sec. 5.1): bit 0x80 = unordered.</summary>
public enum DataChannelType : byte
{
    Reliable = 0x00,
    ReliableUnordered = 0x80,
    PartialReliableRexmit = 0x01,
    PartialReliableRexmitUnordered = 0x81,
    PartialReliableTimed = 0x02,
    PartialReliableTimedUnordered = 0x82,
}
