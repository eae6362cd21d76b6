using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// Checks one TLS 1.2 ECDSA signature (DER-encoded, over the digest BouncyCastle computed, RFC 5246 sec. 4.7) with .NET's
/// OpenSSL-backed <see cref="ECDsa"/>. Made by <see cref="DtlsCertificate"/> for one handshake message; owns the
/// imported public key and releases it after that one verification.
/// </summary>
internal sealed class DtlsEcdsaVerifier(ECDsa key) : TlsVerifier
{
    /// <summary>Null: BouncyCastle then hashes the signed data itself and calls <see cref="VerifyRawSignature"/>.</summary>
    public TlsStreamVerifier? GetStreamVerifier(DigitallySigned digitallySigned) => null;

    public bool VerifyRawSignature(DigitallySigned digitallySigned, byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(digitallySigned);
        ArgumentNullException.ThrowIfNull(hash);
        using (key)
        {
            // TLS 1.2 always names the algorithm; anything but ECDSA here would be BouncyCastle asking the wrong verifier.
            if (digitallySigned.Algorithm is not { Signature: SignatureAlgorithm.ecdsa })
            {
                throw new TlsFatalAlert(AlertDescription.internal_error, $"an ECDSA key cannot verify {digitallySigned.Algorithm}");
            }

            try
            {
                // Strict DER (as BouncyCastle's StandardDsaEncoding): a malformed signature is a failed one.
                return key.VerifyHash(hash, digitallySigned.Signature, DSASignatureFormat.Rfc3279DerSequence);
            }
            catch (CryptographicException)
            {
                return false;
            }
        }
    }
}
