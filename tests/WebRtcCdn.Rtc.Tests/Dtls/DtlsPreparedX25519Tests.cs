using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>The X25519 key pair made ahead of the handshake's need: it agrees with a peer's, and it is used once only.</summary>
public class DtlsPreparedX25519Tests
{
    private static TlsAgreement X25519(DtlsCrypto crypto) => crypto.CreateECDomain(new TlsECConfig(NamedGroup.x25519)).CreateECDH();

    [Fact]
    public void A_prepared_key_agrees_with_the_peers_and_is_never_handed_out_twice()
    {
        var ours = new DtlsCrypto();
        ours.PreparedX25519.Prepare();
        var peer = new DtlsCrypto();
        var first = X25519(ours);
        var peerAgreement = X25519(peer);
        var firstPublic = first.GenerateEphemeral();
        var peerPublic = peerAgreement.GenerateEphemeral();
        first.ReceivePeerValue(peerPublic);
        peerAgreement.ReceivePeerValue(firstPublic);
        Assert.Equal(peerAgreement.CalculateSecret().Extract(), first.CalculateSecret().Extract());

        // The next agreement of the same crypto makes a fresh pair: an ephemeral key is never reused.
        Assert.NotEqual(firstPublic, X25519(ours).GenerateEphemeral());
    }

    [Fact]
    public void A_low_order_peer_point_fails_the_handshake()
    {
        var ours = new DtlsCrypto();
        ours.PreparedX25519.Prepare();
        var agreement = X25519(ours);
        agreement.GenerateEphemeral();
        agreement.ReceivePeerValue(new byte[32]); // the all-zero point: the shared secret would be zero
        Assert.Equal(AlertDescription.handshake_failure, Assert.Throws<TlsFatalAlert>(() => agreement.CalculateSecret()).AlertDescription);
        Assert.Equal(AlertDescription.illegal_parameter, Assert.Throws<TlsFatalAlert>(() => X25519(ours).ReceivePeerValue(new byte[31])).AlertDescription);
    }
}
