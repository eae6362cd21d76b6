using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// BouncyCastle's crypto with two hooks: peer certificates verify ECDSA signatures with .NET's OpenSSL-backed ECDsa
/// (<see cref="DtlsCertificate"/>), and when the handshake creates the epoch-1 cipher we derive the same key block
/// ourselves (PRF(master_secret, "key expansion", server_random + client_random), RFC 5246 sec. 6.3) so the record
/// layer after the handshake can run on .NET's AesGcm. BC keeps its own cipher for its Finished message.
/// </summary>
internal sealed class DtlsCrypto : BcTlsCrypto
{
    /// <summary>The OS CSPRNG (RandomNumberGenerator), thread-safe without a lock, shared by all handshakes.</summary>
    private static readonly SecureRandom SharedRandom = new(new CryptoApiRandomGenerator());

    public DtlsCrypto()
        : base(SharedRandom)
    {
        PreparedX25519 = new DtlsPreparedX25519(this);
    }

    /// <summary>The X25519 ephemeral key pair this handshake will use, made while the handshake thread waits anyway.</summary>
    public DtlsPreparedX25519 PreparedX25519 { get; }

    /// <summary>X25519 (what Chrome, pion and BouncyCastle all put first) uses the prepared key pair.</summary>
    public override TlsECDomain CreateECDomain(TlsECConfig ecConfig)
    {
        ArgumentNullException.ThrowIfNull(ecConfig);
        return ecConfig.NamedGroup == NamedGroup.x25519 ? PreparedX25519.CreateDomain() : base.CreateECDomain(ecConfig);
    }

    /// <summary>Set once the handshake has derived its keys.</summary>
    public DtlsKeyMaterial? Keys { get; private set; }

    public int CipherSuite { get; private set; }

    /// <summary>X.509 peer certificates whose ECDSA signatures .NET's OpenSSL-backed ECDsa checks (<see cref="DtlsCertificate"/>).</summary>
    public override TlsCertificate CreateCertificate(short type, byte[] encoding) =>
        type == CertificateType.X509 ? new DtlsCertificate(this, encoding) : base.CreateCertificate(type, encoding);

    public override TlsCipher CreateCipher(TlsCryptoParameters cryptoParams, int encryptionAlgorithm, int macAlgorithm)
    {
        ArgumentNullException.ThrowIfNull(cryptoParams);
        var keyLength = DtlsCipherSuites.KeyLength(encryptionAlgorithm);
        if (keyLength == 0)
        {
            throw new TlsFatalAlert(AlertDescription.internal_error, "negotiated a cipher our record layer does not implement");
        }

        var parameters = cryptoParams.SecurityParameters;
        var seed = new byte[parameters.ServerRandom.Length + parameters.ClientRandom.Length];
        parameters.ServerRandom.CopyTo(seed, 0);
        parameters.ClientRandom.CopyTo(seed, parameters.ServerRandom.Length);
        var keyBlock = TlsUtilities.Prf(parameters, parameters.MasterSecret, ExporterLabel.key_expansion, seed, DtlsKeyMaterial.KeyBlockLength(keyLength)).Extract();
        Keys = new DtlsKeyMaterial(keyBlock, keyLength);
        Array.Clear(keyBlock);
        CipherSuite = parameters.CipherSuite;
        return base.CreateCipher(cryptoParams, encryptionAlgorithm, macAlgorithm);
    }
}
