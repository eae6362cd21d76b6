namespace WebRtcCdn.Rtc.DataChannels;

/// <summary>W3C RTCDataChannelState.</summary>
public enum DataChannelState
{
    Connecting,
    Open,
    Closing,
    Closed,
}
