using Org.BouncyCastle.Math.EC.Rfc7748;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace WebRtcCdn.Rtc.Dtls;

/// <summary>
/// BouncyCastle's X25519 ECDHE with the ephemeral key pair made ahead of need, so the ~0.25 ms scalar multiplication is
/// off the critical path of the ClientHello and of the ServerKeyExchange / ClientKeyExchange: a prepared client
/// (<see cref="DtlsEndpoint.Prepare"/>) makes it on the thread pool while ICE checks, and otherwise the handshake thread
/// makes it while it waits for the peer's first flight anyway (a server for the ClientHello, a client for the server's
/// flight, after its ClientHello left). The key is fresh per handshake, from the same CSPRNG, used once and wiped, exactly
/// as BouncyCastle's own would be; when none is ready when the agreement needs it (the first flight was already
/// waiting, or the preparation has not finished) one is generated on the spot as before. Thread-safe: one preparation
/// per handshake, published and taken atomically.
/// </summary>
internal sealed class DtlsPreparedX25519
{
    private readonly BcTlsCrypto _crypto;
    private KeyPair? _prepared;
    private int _preparing;

    public DtlsPreparedX25519(BcTlsCrypto crypto) => _crypto = crypto;

    /// <summary>Test hook (<see cref="DtlsEndpointOptions.KeyPreparationHook"/>).</summary>
    public Action? BeforePrepare { get; set; }

    /// <summary>Makes the key pair, once per handshake (any thread; a second call, also a concurrent one, returns at once).</summary>
    public void Prepare()
    {
        if (Interlocked.Exchange(ref _preparing, 1) == 1)
        {
            return;
        }

        BeforePrepare?.Invoke();
        var privateKey = new byte[X25519.ScalarSize];
        _crypto.SecureRandom.NextBytes(privateKey);
        var publicKey = new byte[X25519.PointSize];
        X25519.ScalarMultBase(privateKey, 0, publicKey, 0);
        Volatile.Write(ref _prepared, new KeyPair(privateKey, publicKey));
    }

    public TlsECDomain CreateDomain() => new Domain(this);

    /// <summary>Hands the prepared pair to one agreement, once.</summary>
    private bool TryTake(Span<byte> privateKey, out byte[]? publicKey)
    {
        publicKey = null;
        if (Interlocked.Exchange(ref _prepared, null) is not { } pair)
        {
            return false;
        }

        pair.Private.CopyTo(privateKey);
        Array.Clear(pair.Private);
        publicKey = pair.Public;
        return true;
    }

    private sealed record KeyPair(byte[] Private, byte[] Public);

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
