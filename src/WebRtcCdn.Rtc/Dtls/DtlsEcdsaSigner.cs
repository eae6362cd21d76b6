using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using BcHashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// Signs the handshake's ServerKeyExchange (server) and CertificateVerify (client) with .NET's OpenSSL-backed
/// <see cref="ECDsa"/> instead of BouncyCastle's managed elliptic-curve code: ~25 us of CPU instead of ~185 us per
/// signature here (more while BC's code is not yet tier-1 JIT-compiled), on the critical path of both flights.
/// BouncyCastle stays the protocol engine: it hashes what is signed and hands us the digest (TLS 1.2, RFC 5246 sec. 4.7).
/// </summary>
internal sealed class DtlsEcdsaSigner(ECDsa key) : TlsSigner
{
    public byte[] GenerateRawSignature(SignatureAndHashAlgorithm algorithm, byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        // TLS 1.2 always names the algorithm; a null one would mean TLS 1.0/1.1's MD5+SHA1, which we never negotiate.
        if (algorithm is null || algorithm.Signature != SignatureAlgorithm.ecdsa || hash.Length != ExpectedHashLength(algorithm.Hash))
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, $"cannot sign with {algorithm} over a {hash.Length}-byte hash");
        }

        // One ECDsa object serves every handshake of the process; .NET does not promise that concurrent use is safe.
        lock (key)
        {
            return key.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    /// <summary>Null: BouncyCastle then hashes the signed data itself and calls <see cref="GenerateRawSignature"/>.</summary>
    public TlsStreamSigner? GetStreamSigner(SignatureAndHashAlgorithm algorithm) => null;

    private static int ExpectedHashLength(short hash) => hash switch
    {
        BcHashAlgorithm.sha256 => 32,
        BcHashAlgorithm.sha384 => 48,
        BcHashAlgorithm.sha512 => 64,
        _ => -1,
    };
}
