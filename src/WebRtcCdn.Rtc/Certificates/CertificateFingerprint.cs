using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace WebRtcCdn.Rtc.Certificates;

/// <summary>
/// A certificate fingerprint as carried by SDP <c>a=fingerprint:sha-256 AA:BB:...</c> (RFC 8122 sec. 5):
/// a hash function name and the digest of the DER certificate.
/// </summary>
public sealed class CertificateFingerprint : IEquatable<CertificateFingerprint>
{
    private readonly byte[] _digest;

    private CertificateFingerprint(string algorithm, byte[] digest)
    {
        Algorithm = algorithm;
        _digest = digest;
    }

    /// <summary>Lower-case hash function name from the RFC 8122 registry: sha-256, sha-384 or sha-512.</summary>
    public string Algorithm { get; }

    /// <summary>The digest bytes.</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>Upper-case colon-separated hex digest, the form SDP uses (<c>AA:BB:...</c>).</summary>
    public string DigestHex => FormatHex(_digest);

    /// <summary>Computes the fingerprint of a DER certificate with the given hash function (default sha-256, what every browser sends).</summary>
    public static CertificateFingerprint Compute(ReadOnlySpan<byte> derCertificate, string algorithm = "sha-256")
    {
        var normalized = NormalizeAlgorithm(algorithm) ?? throw new ArgumentException($"unsupported fingerprint hash function '{algorithm}'", nameof(algorithm));
        return new CertificateFingerprint(normalized, Hash(normalized, derCertificate));
    }

    /// <summary>Parses the value of an <c>a=fingerprint:</c> attribute (<c>sha-256 AA:BB:...</c>).</summary>
    public static bool TryParse(string value, out CertificateFingerprint? fingerprint, out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        fingerprint = null;
        var trimmed = value.Trim();
        var space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
        {
            error = "expected '<hash-function> <hex:hex:...>'";
            return false;
        }

        var name = trimmed[..space];
        var algorithm = NormalizeAlgorithm(name);
        if (algorithm is null)
        {
            error = $"unsupported hash function '{name}' (supported: sha-256, sha-384, sha-512)";
            return false;
        }

        var hex = trimmed[(space + 1)..].Trim();
        var expectedLength = DigestLength(algorithm);
        // "AA:BB:..": 3 characters per byte minus the last colon.
        if (hex.Length != (expectedLength * 3) - 1)
        {
            error = $"{algorithm} fingerprint must have {expectedLength} colon-separated hex bytes";
            return false;
        }

        var digest = new byte[expectedLength];
        for (var i = 0; i < expectedLength; i++)
        {
            var at = i * 3;
            if ((i > 0 && hex[at - 1] != ':') ||
                !byte.TryParse(hex.AsSpan(at, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out digest[i]))
            {
                error = $"invalid hex byte at position {i + 1} of the {algorithm} fingerprint";
                return false;
            }
        }

        fingerprint = new CertificateFingerprint(algorithm, digest);
        error = null;
        return true;
    }

    /// <summary>Parses the value of an <c>a=fingerprint:</c> attribute; throws <see cref="FormatException"/> with the reason.</summary>
    public static CertificateFingerprint Parse(string value) =>
        TryParse(value, out var fingerprint, out var error) ? fingerprint! : throw new FormatException(error);

    /// <summary>True when <paramref name="derCertificate"/> hashes to this fingerprint (constant-time comparison).</summary>
    public bool Matches(ReadOnlySpan<byte> derCertificate) =>
        CryptographicOperations.FixedTimeEquals(Hash(Algorithm, derCertificate), _digest);

    /// <summary>The attribute value form: <c>sha-256 AA:BB:...</c>.</summary>
    public override string ToString() => Algorithm + " " + DigestHex;

    public bool Equals(CertificateFingerprint? other) =>
        other is not null && other.Algorithm == Algorithm && other._digest.AsSpan().SequenceEqual(_digest);

    public override bool Equals(object? obj) => Equals(obj as CertificateFingerprint);

    public override int GetHashCode() => HashCode.Combine(Algorithm, BitConverter.ToInt32(_digest, 0));

    private static string? NormalizeAlgorithm(string name) => name.ToLowerInvariant() switch
    {
        // md2/md5/sha-1 are in the RFC 8122 registry but are broken (collisions); sha-224 is absent from .NET: refuse them.
        "sha-256" => "sha-256",
        "sha-384" => "sha-384",
        "sha-512" => "sha-512",
        _ => null,
    };

    private static int DigestLength(string algorithm) => algorithm switch
    {
        "sha-256" => 32,
        "sha-384" => 48,
        _ => 64,
    };

    private static byte[] Hash(string algorithm, ReadOnlySpan<byte> data) => algorithm switch
    {
        "sha-256" => SHA256.HashData(data),
        "sha-384" => SHA384.HashData(data),
        _ => SHA512.HashData(data),
    };

    private static string FormatHex(ReadOnlySpan<byte> digest)
    {
        var sb = new StringBuilder((digest.Length * 3) - 1);
        for (var i = 0; i < digest.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(':');
            }

            sb.Append(digest[i].ToString("X2", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }
}
