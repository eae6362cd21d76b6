using System.Security.Cryptography;

namespace WebRtcCdn.Core.Content;

/// <summary>
/// Publisher signatures: ECDSA on P-256 with SHA-256 ("ES256") over a manifest's canonical bytes, in the
/// IEEE P1363 form (r||s, 32 bytes each) that WebCrypto's verify() takes, so browsers verify natively.
/// Keys are PEM files: the publisher holds a PKCS#8 (or SEC1 "EC PRIVATE KEY") private key, peers are
/// configured with its SubjectPublicKeyInfo public key.
/// </summary>
public static class ManifestSignature
{
    public const int SignatureLength = 64;

    /// <summary>secp256r1 / prime256v1 (RFC 5480).</summary>
    private const string P256Oid = "1.2.840.10045.3.1.7";

    public static Manifest Sign(Manifest manifest, ECDsa privateKey)
    {
        RequireP256(privateKey);
        var signature = privateKey.SignData(manifest.CanonicalBytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return manifest.WithSignature(signature);
    }

    /// <summary>True when the manifest carries a valid signature by <paramref name="publicKey"/>.</summary>
    public static bool Verify(Manifest manifest, ECDsa publicKey) =>
        manifest.Signature is { Length: SignatureLength } signature
        && publicKey.VerifyData(manifest.CanonicalBytes, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>Loads a P-256 key (private or public) from a PEM file; throws <see cref="CryptographicException"/> or IO errors with the reason.</summary>
    public static ECDsa LoadPem(string path)
    {
        var pem = File.ReadAllText(path);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            RequireP256(key);
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static void RequireP256(ECDsa key)
    {
        // KeySize alone would also accept secp256k1 or brainpoolP256r1; WebCrypto verifies P-256 only.
        var oid = key.ExportParameters(false).Curve.Oid;
        if (oid.Value != P256Oid && oid.FriendlyName is not ("nistP256" or "ECDSA_P256"))
        {
            throw new CryptographicException($"publisher keys are ECDSA P-256; this key's curve is {oid.FriendlyName ?? oid.Value}");
        }
    }
}
