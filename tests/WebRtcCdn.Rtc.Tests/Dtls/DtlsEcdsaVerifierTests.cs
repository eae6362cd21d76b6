using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;
using BcHashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>The OpenSSL-backed verifier of the peer's ECDSA signatures: it accepts what BouncyCastle's signer makes (as a
/// BC, OpenSSL or BoringSSL peer signs), and a forged, altered or malformed signature is a failed check, not an exception.</summary>
public class DtlsEcdsaVerifierTests
{
    private static readonly SignatureAndHashAlgorithm EcdsaSha256 = new(BcHashAlgorithm.sha256, SignatureAlgorithm.ecdsa);

    private static Org.BouncyCastle.Tls.Crypto.TlsVerifier Verifier(byte[] der) =>
        new DtlsCrypto().CreateCertificate(CertificateType.X509, der).CreateVerifier(SignatureAlgorithm.ecdsa);

    private static (byte[] Der, byte[] Hash, byte[] Signature) SignedByBouncyCastle()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=peer", key, HashAlgorithmName.SHA256);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var crypto = new BcTlsCrypto();
        var signer = new BcTlsECDsaSigner(crypto, (Org.BouncyCastle.Crypto.Parameters.ECPrivateKeyParameters)PrivateKeyFactory.CreateKey(key.ExportPkcs8PrivateKey()));
        var hash = SHA256.HashData("ServerKeyExchange params"u8);
        return (x509.RawData, hash, signer.GenerateRawSignature(EcdsaSha256, hash));
    }

    [Fact]
    public void A_BouncyCastle_signature_verifies_and_an_altered_hash_or_signature_does_not()
    {
        var (der, hash, signature) = SignedByBouncyCastle();
        Assert.IsType<DtlsEcdsaVerifier>(Verifier(der));
        Assert.True(Verifier(der).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash));
        var otherHash = (byte[])hash.Clone();
        otherHash[0] ^= 1;
        Assert.False(Verifier(der).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), otherHash));
        var forged = (byte[])signature.Clone();
        forged[^1] ^= 1;
        Assert.False(Verifier(der).VerifyRawSignature(new DigitallySigned(EcdsaSha256, forged), hash));
    }

    [Fact]
    public void Our_own_certificate_signature_verifies()
    {
        var hash = SHA256.HashData("CertificateVerify handshake hash"u8);
        var signature = new DtlsEcdsaSigner(RtcCertificate.Default.SigningKey).GenerateRawSignature(EcdsaSha256, hash);
        Assert.True(Verifier(RtcCertificate.Default.Der.ToArray()).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash));
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "empty", [] },
        { "garbage", [0x01, 0x02, 0x03] },
        { "truncated DER", [0x30, 0x44, 0x02, 0x20, 0x01] },
        { "DER with a trailing byte", [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00] },
        { "non-minimal length (BER, not DER)", [0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01] },
        { "zero r and s", [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_signature_is_a_failed_check(string what, byte[] signature)
    {
        var (der, hash, _) = SignedByBouncyCastle();
        Assert.False(Verifier(der).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash), what);
    }

    [Fact]
    public void A_non_ECDSA_algorithm_is_an_internal_error()
    {
        var (der, hash, signature) = SignedByBouncyCastle();
        var e = Assert.Throws<TlsFatalAlert>(() => Verifier(der).VerifyRawSignature(new DigitallySigned(new SignatureAndHashAlgorithm(BcHashAlgorithm.sha256, SignatureAlgorithm.rsa), signature), hash));
        Assert.Equal(AlertDescription.internal_error, e.AlertDescription);
    }

    [Fact]
    public void A_P521_key_keeps_BouncyCastles_verifier()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=peer", key, HashAlgorithmName.SHA512);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        Assert.IsNotType<DtlsEcdsaVerifier>(Verifier(x509.RawData));
    }
}
