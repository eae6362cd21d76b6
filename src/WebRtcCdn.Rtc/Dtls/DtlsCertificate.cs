using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// The peer's X.509 certificate as BouncyCastle's handshake sees it, with one change: ECDSA signatures by a P-256 or
/// P-384 key (ServerKeyExchange as client, CertificateVerify as server) are checked by .NET's OpenSSL-backed
/// <see cref="ECDsa"/> instead of BouncyCastle's managed EC code, which is on the critical path of both flights and, until
/// the JIT has tiered it up, costs several times its steady-state ~0.2 ms. Parsing, key-usage and key-type checks stay
/// BouncyCastle's (<see cref="BcTlsRawKeyCertificate.CreateVerifier(short)"/> runs first); other keys keep BC's verifier.
/// </summary>
internal sealed class DtlsCertificate(BcTlsCrypto crypto, byte[] encoding) : BcTlsCertificate(crypto, encoding)
{
    public override TlsVerifier CreateVerifier(short signatureAlgorithm)
    {
        var bouncyCastle = base.CreateVerifier(signatureAlgorithm);
        if (signatureAlgorithm != SignatureAlgorithm.ecdsa)
        {
            return bouncyCastle;
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(SubjectPublicKeyInfo.GetEncoded(), out _);
            if (key.KeySize is 256 or 384)
            {
                var verifier = new DtlsEcdsaVerifier(key);
                key = null;
                return verifier;
            }
        }
        catch (CryptographicException)
        {
            // A curve OpenSSL does not take: BouncyCastle's verifier decides.
        }
        finally
        {
            key?.Dispose();
        }

        return bouncyCastle;
    }
}
