using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>What a <see cref="DtlsEvent"/> reports.</summary>
public enum DtlsEventKind
{
    /// <summary>Handshake done and the peer's certificate matched its SDP fingerprint.</summary>
    Connected,

    /// <summary>One decrypted application_data record (for WebRTC: one SCTP packet).</summary>
    ApplicationData,

    /// <summary>close_notify received or sent (RFC 5246 sec. 7.2.1).</summary>
    Closed,

    /// <summary>Handshake failure, fingerprint mismatch, fatal alert or timeout; see <see cref="DtlsEvent.Reason"/>.</summary>
    Failed,
}

/// <summary>
/// One event from <see cref="DtlsEndpoint.PollEvent"/>. <see cref="Data"/> lives in a pooled buffer that stays
/// valid only until the next <see cref="DtlsEndpoint.PollEvent"/> or <see cref="DtlsEndpoint.Dispose"/>: consume or copy it first.
/// </summary>
public readonly record struct DtlsEvent(
    DtlsEventKind Kind,
    ReadOnlyMemory<byte> Data = default,
    string? CipherSuite = null,
    CertificateFingerprint? RemoteFingerprint = null,
    string? Reason = null);
