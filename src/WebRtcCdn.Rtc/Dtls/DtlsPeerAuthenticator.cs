using Org.BouncyCastle.Tls;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// Checks the peer's certificate against the fingerprints from its SDP (RFC 8122 sec. 5, RFC 8827 sec. 6.5) and
/// remembers why a handshake failed. BouncyCastle checks that the peer owns the key (CertificateVerify /
/// ServerKeyExchange signatures); we check that the key is the one the signalling channel announced.
/// Written on the handshake thread, read by the endpoint after the handshake thread has finished.
/// </summary>
internal sealed class DtlsPeerAuthenticator(IReadOnlyList<CertificateFingerprint> expected)
{
    public CertificateFingerprint? Verified { get; private set; }

    public string? FailureReason { get; private set; }

    public void Verify(Certificate? chain)
    {
        if (chain is null || chain.IsEmpty)
        {
            FailureReason = "the peer sent no certificate, so it cannot be authenticated against its SDP fingerprint";
            throw new TlsFatalAlert(AlertDescription.handshake_failure, FailureReason);
        }

        var der = chain.GetCertificateAt(0).GetEncoded();
        foreach (var fingerprint in expected)
        {
            if (fingerprint.Matches(der))
            {
                Verified = fingerprint;
                return;
            }
        }

        FailureReason = $"the peer's certificate ({CertificateFingerprint.Compute(der)}) does not match the SDP fingerprint ({string.Join(", ", expected)})";
        throw new TlsFatalAlert(AlertDescription.bad_certificate, FailureReason);
    }

    public void NoteAlertReceived(short level, short description)
    {
        if (level == AlertLevel.fatal || description != AlertDescription.close_notify)
        {
            FailureReason ??= $"the peer sent alert {AlertDescription.GetText(description)}";
        }
    }

    public void NoteAlertRaised(short level, short description, string? message)
    {
        if (level == AlertLevel.fatal)
        {
            FailureReason ??= $"we raised alert {AlertDescription.GetText(description)}" + (message is null ? string.Empty : ": " + message);
        }
    }
}
