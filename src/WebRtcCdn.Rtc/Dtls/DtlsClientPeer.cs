using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>BouncyCastle client configured for WebRTC (interop notes items 5-7 and the verified BC 2.7.0 list).</summary>
internal sealed class DtlsClientPeer(DtlsCrypto crypto, RtcCertificate certificate, DtlsPeerAuthenticator authenticator, int resendMillis, int timeoutMillis,
    Action<IDictionary<int, byte[]>>? extensionsHook)
    : DefaultTlsClient(crypto)
{
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => DtlsCipherSuites.Supported;

    public override TlsAuthentication GetAuthentication() => new Authentication(this);

    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        var extensions = base.GetClientExtensions();
        extensionsHook?.Invoke(extensions);
        return extensions;
    }

    // pion and other servers omit renegotiation_info; BC's default then aborts (pion/dtls#720). We never
    // renegotiate, so the extension protects nothing here.
    public override void NotifySecureRenegotiation(bool secureRenegotiation)
    {
    }

    public override bool RequiresExtendedMasterSecret() => true;

    public override bool IgnoreCorruptDtlsRecords => true;

    public override int GetHandshakeResendTimeMillis() => resendMillis;

    // The endpoint fails the handshake on its own (virtual-time) deadline; this one only guarantees that the
    // handshake thread ends even if the driver never calls HandleTimeout or Dispose.
    public override int GetHandshakeTimeoutMillis() => timeoutMillis;

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) => authenticator.NoteAlertReceived(alertLevel, alertDescription);

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause) =>
        authenticator.NoteAlertRaised(alertLevel, alertDescription, message);

    private sealed class Authentication(DtlsClientPeer owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) => owner.VerifyServer(serverCertificate.Certificate);

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => owner.CreateSigner();
    }

    private void VerifyServer(Certificate serverCertificate) => authenticator.Verify(serverCertificate);

    // Signed by .NET's OpenSSL-backed ECDsa (DtlsEcdsaSigner), not BouncyCastle's managed EC code.
    private DefaultTlsCredentialedSigner CreateSigner() =>
        new(new TlsCryptoParameters(m_context), new DtlsEcdsaSigner(certificate.SigningKey), certificate.Chain,
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));
}
