using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Tests.Certificates;

public class RtcCertificateTests
{
    [Fact]
    public void Generated_certificate_is_self_signed_ecdsa_p256_with_matching_fingerprint()
    {
        var now = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        var certificate = RtcCertificate.Generate(now);

        using var x509 = X509CertificateLoader.LoadCertificate(certificate.Der);
        using var key = x509.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(256, key.KeySize);
        Assert.Equal("1.2.840.10045.4.3.2", x509.SignatureAlgorithm.Value); // ecdsa-with-SHA256
        Assert.Equal(x509.Subject, x509.Issuer);
        Assert.Equal(now + RtcCertificate.DefaultValidity, certificate.Expires);
        Assert.True(x509.NotBefore.ToUniversalTime() < now.UtcDateTime);
        Assert.Equal(SHA256.HashData(x509.RawData), certificate.Fingerprint.Digest.ToArray());
        Assert.True(certificate.Fingerprint.Matches(x509.RawData));
    }

    [Fact]
    public void Default_is_one_certificate_per_process()
    {
        Assert.Same(RtcCertificate.Default, RtcCertificate.Default);
    }

    [Fact]
    public void From_pem_loads_a_configured_p256_certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=configured", key, HashAlgorithmName.SHA256);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));

        var certificate = RtcCertificate.FromPem(x509.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());

        Assert.Equal(x509.RawData, certificate.Der.ToArray());
        Assert.True(certificate.Fingerprint.Matches(x509.RawData));
    }

    [Fact]
    public void From_pem_rejects_rsa_other_curves_and_garbage()
    {
        using var rsa = RSA.Create(2048);
        using var rsaCert = new CertificateRequest("CN=rsa", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Contains("not ECDSA", Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(rsaCert.ExportCertificatePem(), rsa.ExportPkcs8PrivateKeyPem())).Message, StringComparison.Ordinal);

        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p384Cert = new CertificateRequest("CN=p384", p384, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Contains("only P-256", Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem(p384Cert.ExportCertificatePem(), p384.ExportPkcs8PrivateKeyPem())).Message, StringComparison.Ordinal);

        Assert.Contains("could not be loaded", Assert.Throws<ArgumentException>(() => RtcCertificate.FromPem("not pem", "not pem")).Message, StringComparison.Ordinal);
    }
}
