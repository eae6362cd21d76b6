using System.Buffers.Binary;
using WebRtcCdn.Rtc.Certificates;
using WebRtcCdn.Rtc.Dtls;

namespace WebRtcCdn.Rtc.Tests.Dtls;

/// <summary>Interop notes item 7: a fragmented DTLS 1.3 + post-quantum ClientHello must be reassembled and answered with DTLS 1.2.</summary>
public class DtlsClientHelloNegotiationTests
{
    private static (DtlsEndpoint Server, SemaphoreSlim Wake) StartServer()
    {
        var wake = new SemaphoreSlim(0);
        var server = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = DtlsRole.Server,
            RemoteFingerprints = [RtcCertificate.Default.Fingerprint],
            WakeUp = () => wake.Release(),
        });
        server.Start(TimeSpan.Zero);
        return (server, wake);
    }

    [Fact]
    public void Chrome_like_fragmented_dtls13_client_hello_gets_a_dtls12_server_hello()
    {
        var datagrams = ChromeLikeClientHello.BuildDatagrams([ChromeLikeClientHello.Dtls13, ChromeLikeClientHello.Dtls12]);
        Assert.Equal(2, datagrams.Count);
        Assert.Equal(1200, datagrams[0].Length);

        var (server, wake) = StartServer();
        using (server)
        {
            foreach (var datagram in datagrams)
            {
                server.HandleDatagram(datagram, TimeSpan.Zero);
            }

            byte[]? serverHello = null;
            while (serverHello is null)
            {
                if (server.PollTransmit() is { } d)
                {
                    serverHello = d.ToArray();
                    break;
                }

                Assert.True(wake.Wait(DtlsTestLink.Guard), "no answer to the fragmented ClientHello");
            }

            Assert.Equal(22, serverHello[0]); // handshake record
            Assert.Equal(2, serverHello[13]); // server_hello
            Assert.Equal(ChromeLikeClientHello.Dtls12, BinaryPrimitives.ReadUInt16BigEndian(serverHello.AsSpan(25))); // server_version
            var sessionIdLength = serverHello[25 + 2 + 32];
            var suite = BinaryPrimitives.ReadUInt16BigEndian(serverHello.AsSpan(25 + 2 + 32 + 1 + sessionIdLength));
            Assert.Equal(0xC02B, suite); // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            Assert.Equal(DtlsState.Connecting, server.State);
        }
    }

    [Fact]
    public void Dtls13_only_client_hello_fails_with_a_reason()
    {
        var (server, wake) = StartServer();
        using (server)
        {
            foreach (var datagram in ChromeLikeClientHello.BuildDatagrams([ChromeLikeClientHello.Dtls13]))
            {
                server.HandleDatagram(datagram, TimeSpan.Zero);
            }

            DtlsEvent? failed = null;
            while (failed is null)
            {
                failed = server.PollEvent();
                if (failed is null)
                {
                    Assert.True(wake.Wait(DtlsTestLink.Guard));
                }
            }

            Assert.Equal(DtlsEventKind.Failed, failed.Value.Kind);
            Assert.Contains("protocol_version", failed.Value.Reason, StringComparison.Ordinal);
            // The alert went out to the peer.
            var alert = server.PollTransmit();
            Assert.NotNull(alert);
            Assert.Equal(21, alert.Value.Span[0]);
        }
    }
}
