using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>BouncyCastle server configured for WebRTC (interop notes items 5-7 and the verified BC 2.7.0 list).</summary>
internal sealed class DtlsServerPeer(DtlsCrypto crypto, RtcCertificate certificate, DtlsPeerAuthenticator authenticator, int resendMillis, int timeoutMillis)
    : DefaultTlsServer(crypto)
{
    // BC's default offers TLS 1.3..1.2; with that the handshake with Chromium fails (interop notes). A DTLS 1.3
    // ClientHello that also lists 1.2 is then negotiated down to 1.2.
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    // DefaultTlsServer's stock list has no ECDHE_ECDSA suite; BC would then pick ECDHE_RSA and fail.
    protected override int[] GetSupportedCipherSuites() => DtlsCipherSuites.Supported;

    // Signed by .NET's OpenSSL-backed ECDsa (DtlsEcdsaSigner), not BouncyCastle's managed EC code.
    protected override TlsCredentialedSigner GetECDsaSignerCredentials() =>
        new DefaultTlsCredentialedSigner(new TlsCryptoParameters(m_context), new DtlsEcdsaSigner(certificate.SigningKey), certificate.Chain,
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));

    // Without a CertificateRequest Chromium connects unauthenticated; ask for a certificate so the browser proves the
    // key behind its SDP fingerprint. ecdsa_sign is what browsers have (sipsorcery#1036); rsa_sign for older stacks.
    public override CertificateRequest GetCertificateRequest() =>
        new([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign], TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);

    public override void NotifyClientCertificate(Certificate clientCertificate) => authenticator.Verify(clientCertificate);

    // RFC 7627: every browser and pion support it; refusing legacy sessions closes the triple-handshake hole.
    public override bool RequiresExtendedMasterSecret() => true;

    // Corrupt records must not kill a handshake on a path where anyone can inject datagrams (interop notes item 6).
    public override bool IgnoreCorruptDtlsRecords => true;

    public override int GetHandshakeResendTimeMillis() => resendMillis;

    // The endpoint fails the handshake on its own (virtual-time) deadline; this one only guarantees that the
    // handshake thread ends even if the driver never calls HandleTimeout or Dispose.
    public override int GetHandshakeTimeoutMillis() => timeoutMillis;

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) => authenticator.NoteAlertReceived(alertLevel, alertDescription);

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause) =>
        authenticator.NoteAlertRaised(alertLevel, alertDescription, message);
}
