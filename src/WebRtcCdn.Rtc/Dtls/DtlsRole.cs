namespace WebRtcCdn.Rtc.Dtls;

/// <summary>Which side of the DTLS handshake we play; from SDP <c>a=setup</c> (RFC 8842 sec. 5): active = client, passive = server.</summary>
public enum DtlsRole
{
    Client,
    Server,
}
