using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;
using BcHashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>The OpenSSL-backed signer BouncyCastle's handshake signs with: its signatures must verify with BouncyCastle's
/// own verifier over the certificate's key (what a BC, OpenSSL or BoringSSL peer does), and it refuses what TLS 1.2 with
/// ECDSA never asks for.</summary>
public class DtlsEcdsaSignerTests
{
    private static readonly SignatureAndHashAlgorithm EcdsaSha256 = new(BcHashAlgorithm.sha256, SignatureAlgorithm.ecdsa);

    private static bool VerifiesWithBouncyCastle(RtcCertificate certificate, byte[] hash, byte[] signature)
    {
        // Plain BcTlsCrypto: BouncyCastle's own verifier (DtlsCrypto would hand out the OpenSSL-backed one).
        var crypto = new Org.BouncyCastle.Tls.Crypto.Impl.BC.BcTlsCrypto();
        var verifier = crypto.CreateCertificate(CertificateType.X509, certificate.Der.ToArray()).CreateVerifier(SignatureAlgorithm.ecdsa);
        Assert.IsNotType<DtlsEcdsaVerifier>(verifier);
        return verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash);
    }

    [Fact]
    public void Signatures_of_the_process_certificate_verify_with_BouncyCastle_and_fail_for_another_hash()
    {
        var certificate = RtcCertificate.Default;
        var signer = new DtlsEcdsaSigner(certificate.SigningKey);
        var hash = SHA256.HashData("ServerKeyExchange params"u8);
        var signature = signer.GenerateRawSignature(EcdsaSha256, hash);
        Assert.True(VerifiesWithBouncyCastle(certificate, hash, signature));
        Assert.False(VerifiesWithBouncyCastle(certificate, SHA256.HashData("something else"u8), signature));
        Assert.Null(signer.GetStreamSigner(EcdsaSha256));
    }

    [Fact]
    public void A_certificate_loaded_from_PEM_keeps_a_usable_key_after_loading()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificate = RtcCertificate.FromPem(x509.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        var hash = SHA256.HashData("CertificateVerify handshake hash"u8);
        Assert.True(VerifiesWithBouncyCastle(certificate, hash, new DtlsEcdsaSigner(certificate.SigningKey).GenerateRawSignature(EcdsaSha256, hash)));
    }

    [Fact]
    public void Concurrent_handshakes_can_sign_with_the_shared_key()
    {
        var signer = new DtlsEcdsaSigner(RtcCertificate.Default.SigningKey);
        var hashes = Enumerable.Range(0, 64).Select(i => SHA256.HashData(BitConverter.GetBytes(i))).ToArray();
        var signatures = new byte[hashes.Length][];
        Parallel.For(0, hashes.Length, i => signatures[i] = signer.GenerateRawSignature(EcdsaSha256, hashes[i]));
        Assert.All(Enumerable.Range(0, hashes.Length), i => Assert.True(VerifiesWithBouncyCastle(RtcCertificate.Default, hashes[i], signatures[i])));
    }

    public static TheoryData<string> Refused => ["no algorithm (TLS 1.0/1.1 MD5+SHA1)", "RSA", "SHA-256 named, 20-byte hash", "SHA-1"];

    [Theory]
    [MemberData(nameof(Refused))]
    public void Requests_TLS_1_2_ECDSA_never_makes_are_refused_with_an_internal_error(string what)
    {
        var signer = new DtlsEcdsaSigner(RtcCertificate.Default.SigningKey);
        var (algorithm, hash) = what switch
        {
            "RSA" => (new SignatureAndHashAlgorithm(BcHashAlgorithm.sha256, SignatureAlgorithm.rsa), new byte[32]),
            "SHA-256 named, 20-byte hash" => (EcdsaSha256, new byte[20]),
            "SHA-1" => (new SignatureAndHashAlgorithm(BcHashAlgorithm.sha1, SignatureAlgorithm.ecdsa), new byte[20]),
            _ => ((SignatureAndHashAlgorithm)null!, new byte[36]),
        };
        var e = Assert.Throws<TlsFatalAlert>(() => signer.GenerateRawSignature(algorithm, hash));
        Assert.Equal(AlertDescription.internal_error, e.AlertDescription);
    }
}
