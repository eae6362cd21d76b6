namespace WebRtcCdn.Rtc.Sctp;

/// <summary>RFC 9260 sec. 4 association states.</summary>
public enum SctpAssociationState
{
    /// <summary>Not started, or ended (closed, aborted).</summary>
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
}
