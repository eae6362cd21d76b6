namespace WebRtcCdn.Rtc.Ice;

/// <summary>
/// The agent's state, named as W3C RTCIceConnectionState. "Completed" is not used: an agent that has a selected
/// pair is Connected and keeps answering checks.
/// </summary>
public enum IceConnectionState
{
    New,
    Checking,
    Connected,
    Disconnected,
    Failed,
    Closed,
}
