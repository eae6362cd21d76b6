using System.Security.Cryptography;
using WebRtcCdn.Rtc.Certificates;

namespace WebRtcCdn.Rtc.Tests.Certificates;

public class CertificateFingerprintTests
{
    [Fact]
    public void Compute_formats_sha256_as_sdp_expects()
    {
        var der = new byte[] { 1, 2, 3 };
        var fingerprint = CertificateFingerprint.Compute(der);
        var expected = string.Join(':', SHA256.HashData(der).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal("sha-256", fingerprint.Algorithm);
        Assert.Equal(expected, fingerprint.DigestHex);
        Assert.Equal("sha-256 " + expected, fingerprint.ToString());
        Assert.True(fingerprint.Matches(der));
        Assert.False(fingerprint.Matches([1, 2, 4]));
    }

    [Fact]
    public void Parse_accepts_case_variants_and_round_trips()
    {
        var original = CertificateFingerprint.Compute([9, 9, 9], "sha-384");
        var parsed = CertificateFingerprint.Parse("SHA-384 " + original.DigestHex.ToLowerInvariant());
        Assert.Equal(original, parsed);
        Assert.Equal("sha-384", parsed.Algorithm);
        Assert.True(parsed.Matches([9, 9, 9]));
        Assert.Equal(original, CertificateFingerprint.Parse("  " + original + "  "));
        Assert.Equal(64, CertificateFingerprint.Compute([1], "sha-512").Digest.Length);
    }

    [Theory]
    [InlineData("", "expected '<hash-function> <hex")]
    [InlineData("sha-256", "expected '<hash-function> <hex")]
    [InlineData("md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", "unsupported hash function 'md5'")]
    [InlineData("sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", "unsupported hash function 'sha-1'")]
    [InlineData("sha-256 AA:BB", "32 colon-separated hex bytes")]
    [InlineData("sha-256 AA-BB-CC-DD-EE-FF-00-11-22-33-44-55-66-77-88-99-AA-BB-CC-DD-EE-FF-00-11-22-33-44-55-66-77-88-99", "invalid hex byte at position 2")]
    [InlineData("sha-256 ZZ:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99", "invalid hex byte at position 1")]
    public void Parse_rejects_with_reason(string value, string reason)
    {
        Assert.False(CertificateFingerprint.TryParse(value, out var fingerprint, out var error));
        Assert.Null(fingerprint);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => CertificateFingerprint.Parse(value));
    }

    [Fact]
    public void Compute_refuses_weak_hashes()
    {
        Assert.Throws<ArgumentException>(() => CertificateFingerprint.Compute([1], "md5"));
    }
}
