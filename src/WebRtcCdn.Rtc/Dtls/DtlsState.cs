namespace WebRtcCdn.Rtc.Dtls;

/// <summary>Lifecycle of a <see cref="DtlsEndpoint"/>, named like W3C RTCDtlsTransportState.</summary>
public enum DtlsState
{
    New,
    Connecting,
    Connected,
    Closed,
    Failed,
}
