using Org.BouncyCastle.Math.EC.Rfc7748;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// BouncyCastle's X25519 ECDHE with the ephemeral key pair made ahead of need: <see cref="Prepare"/> runs on the handshake
/// thread while it waits for the peer's first flight anyway (a server for the ClientHello, a client for the server's
/// flight, after its ClientHello left), so the ~0.25 ms scalar multiplication is off the critical path of the ServerKeyExchange / ClientKeyExchange.
/// The key is fresh per handshake, from the same CSPRNG, used once and wiped, exactly as BouncyCastle's own would be;
/// without a prepared key (the first flight was already waiting) it is generated on the spot as before.
/// </summary>
internal sealed class DtlsPreparedX25519
{
    private readonly BcTlsCrypto _crypto;
    private byte[]? _privateKey;
    private byte[]? _publicKey;

    public DtlsPreparedX25519(BcTlsCrypto crypto) => _crypto = crypto;

    /// <summary>Test hook (<see cref="DtlsEndpointOptions.KeyPreparationHook"/>).</summary>
    public Action? BeforePrepare { get; set; }

    /// <summary>Makes the key pair (handshake thread, before its first wait). Idempotent.</summary>
    public void Prepare()
    {
        if (_privateKey is not null)
        {
            return;
        }

        BeforePrepare?.Invoke();

        var privateKey = new byte[X25519.ScalarSize];
        _crypto.SecureRandom.NextBytes(privateKey);
        var publicKey = new byte[X25519.PointSize];
        X25519.ScalarMultBase(privateKey, 0, publicKey, 0);
        (_privateKey, _publicKey) = (privateKey, publicKey);
    }

    public TlsECDomain CreateDomain() => new Domain(this);

    /// <summary>Hands the prepared pair to one agreement, once.</summary>
    private bool TryTake(Span<byte> privateKey, out byte[]? publicKey)
    {
        publicKey = _publicKey;
        if (_privateKey is not { } prepared || publicKey is null)
        {
            return false;
        }

        prepared.CopyTo(privateKey);
        Array.Clear(prepared);
        (_privateKey, _publicKey) = (null, null);
        return true;
    }

    private sealed class Domain(DtlsPreparedX25519 owner) : TlsECDomain
    {
        public TlsAgreement CreateECDH() => new Agreement(owner);
    }

    private sealed class Agreement(DtlsPreparedX25519 owner) : BcX25519(owner._crypto)
    {
        public override byte[] GenerateEphemeral() =>
            owner.TryTake(m_privateKey, out var publicKey) ? publicKey! : base.GenerateEphemeral();
    }
}
