using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcCertificate = Org.BouncyCastle.Tls.Certificate;

namespace WebRtcCdn.Rtc.Certificates;

/// <summary>
/// The DTLS identity of this process (W3C RTCCertificate): a self-signed ECDSA P-256 certificate and its key.
/// WebRTC authenticates peers by the SDP fingerprint, not by a CA, so the subject and validity are not
/// checked by browsers; only the key type matters (ECDSA P-256 is what Chrome, Firefox and pion use).
/// </summary>
public sealed class RtcCertificate
{
    /// <summary>Validity of a generated certificate. Browsers ignore it (RFC 8827 sec. 6.5 trusts the fingerprint),
    /// a year keeps long-running servers from ever presenting an expired one to a stricter stack.</summary>
    public static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(365);

    private static readonly Lazy<RtcCertificate> ProcessCertificate = new(() => Generate(DateTimeOffset.UtcNow), LazyThreadSafetyMode.ExecutionAndPublication);

    // BcTlsCertificate needs a crypto object only to build verifiers; ours never verifies, so one shared instance is enough.
    private static readonly BcTlsCrypto SharedCrypto = new(new SecureRandom(new CryptoApiRandomGenerator()));

    private readonly byte[] _der;

    private RtcCertificate(byte[] der, ECDsa signingKey, DateTimeOffset notAfter)
    {
        _der = der;
        SigningKey = signingKey;
        Expires = notAfter;
        Fingerprint = CertificateFingerprint.Compute(der);
        Chain = new BcCertificate([new BcTlsCertificate(SharedCrypto, der)]);
    }

    /// <summary>The certificate generated once per process and reused by every connection (interop notes item 5):
    /// key generation costs more than a handshake.</summary>
    public static RtcCertificate Default => ProcessCertificate.Value;

    /// <summary>The DER encoding of the certificate.</summary>
    public ReadOnlySpan<byte> Der => _der;

    /// <summary>SHA-256 fingerprint over the DER, as advertised in SDP.</summary>
    public CertificateFingerprint Fingerprint { get; }

    /// <summary>End of the validity period.</summary>
    public DateTimeOffset Expires { get; }

    /// <summary>The private key, held by .NET's OpenSSL-backed ECDsa: DTLS signs with it (Dtls/DtlsEcdsaSigner), ~7x
    /// cheaper than BouncyCastle's managed EC code. Lives as long as the certificate (for the process, for Default).</summary>
    internal ECDsa SigningKey { get; }

    internal BcCertificate Chain { get; }

    /// <summary>Generates a fresh self-signed ECDSA P-256 / SHA-256 certificate valid from a day before <paramref name="now"/>
    /// (tolerates clock skew) for <paramref name="validity"/> (default <see cref="DefaultValidity"/>).</summary>
    public static RtcCertificate Generate(DateTimeOffset now, TimeSpan? validity = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=WebRtcCdn", key, HashAlgorithmName.SHA256);
        var serial = new byte[8];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // positive INTEGER
        var notAfter = now + (validity ?? DefaultValidity);
        using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddDays(-1), notAfter, serial);
        return new RtcCertificate(certificate.RawData, key, notAfter);
    }

    /// <summary>Loads a configured certificate and its private key from PEM text. Only ECDSA P-256 keys are accepted.</summary>
    /// <exception cref="ArgumentException">The PEM is invalid, the key does not match, or it is not ECDSA P-256.</exception>
    public static RtcCertificate FromPem(string certificatePem, string privateKeyPem)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"certificate/key PEM could not be loaded: {e.Message}", nameof(certificatePem), e);
        }

        using (certificate)
        {
            var key = certificate.GetECDsaPrivateKey()
                ?? throw new ArgumentException("the certificate's key is not ECDSA; WebRTC peers expect ECDSA P-256", nameof(privateKeyPem));
            if (key.KeySize != 256)
            {
                key.Dispose();
                throw new ArgumentException($"the ECDSA key has {key.KeySize} bits; only P-256 is supported", nameof(privateKeyPem));
            }

            return new RtcCertificate(certificate.RawData, key, certificate.NotAfter.ToUniversalTime());
        }
    }
}
