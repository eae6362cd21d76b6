namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>W3C RTCPeerConnectionState.</summary>
public enum RtcPeerConnectionState
{
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// <summary>W3C RTCIceGatheringState.</summary>
public enum RtcIceGatheringState
{
    New,
    Gathering,
    Complete,
}

/// <summary>W3C RTCSignalingState (no rollback or provisional answers).</summary>
public enum RtcSignalingState
{
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    Closed,
}

/// <summary>W3C RTCDataChannelState.</summary>
public enum RtcDataChannelState
{
    Connecting,
    Open,
    Closing,
    Closed,
}
